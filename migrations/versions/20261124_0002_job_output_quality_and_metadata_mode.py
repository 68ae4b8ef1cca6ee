"""job output quality and metadata mode

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 04:19:11.113879
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("output_quality", sa.Integer(), server_default="92", nullable=False))
        batch_op.add_column(
            sa.Column("metadata_mode", sa.String(length=16), server_default="default", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("metadata_mode")
        batch_op.drop_column("output_quality")
