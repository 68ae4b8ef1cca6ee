"""jobs: the denoise level and conservative mode a job runs with

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("denoise", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("conservative", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("conservative")
        batch_op.drop_column("denoise")
