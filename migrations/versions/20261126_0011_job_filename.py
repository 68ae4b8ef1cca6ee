"""jobs and uploads: the uploaded file's name (shown in history, used for download and zip entry names)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename", sa.String(length=255), nullable=True))
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_column("filename")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("filename")
