"""estimates: each job's run time kept as a sample, and a per-frame term in a worker's speed

A worker's speed was a moving average of seconds per output megapixel that one job could move by 30%;
it is now fitted from the recent samples (medians of a per-pixel and a per-frame term). The old
averages are dropped: they mixed both terms, and the first jobs measure them again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM model_speeds")
    with op.batch_alter_table("model_speeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seconds_per_frame", sa.Float(), nullable=False, server_default="0"))
    op.create_table(
        "speed_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("output_pixels", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("recorded_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speed_samples")),
    )
    with op.batch_alter_table("speed_samples", schema=None) as batch_op:
        batch_op.create_index("ix_speed_samples_worker_model_id", ["worker", "model", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("speed_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_speed_samples_worker_model_id")
    op.drop_table("speed_samples")
    with op.batch_alter_table("model_speeds", schema=None) as batch_op:
        batch_op.drop_column("seconds_per_frame")
