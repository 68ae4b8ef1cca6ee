"""jobs: video inputs (frames, frame rate, duration) and results past 2 GiB

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_frames", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("input_fps", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("input_duration", sa.Float(), nullable=True))
        batch_op.alter_column("output_bytes", type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("output_bytes", type_=sa.Integer(), existing_type=sa.BigInteger())
        batch_op.drop_column("input_duration")
        batch_op.drop_column("input_fps")
        batch_op.drop_column("input_frames")
