"""estimates: workers seen alive, their measured speed per model, and each job's expected run time

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers_seen",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("queues", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=40), nullable=False),
        sa.Column("seen_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers_seen")),
    )
    with op.batch_alter_table("workers_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workers_seen_seen_at"), ["seen_at"], unique=False)
    op.create_table(
        "model_speeds",
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=40), nullable=False),
        sa.Column("seconds_per_megapixel", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker", "model", name=op.f("pk_model_speeds")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimated_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("estimated_seconds")
    op.drop_table("model_speeds")
    with op.batch_alter_table("workers_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_seen_seen_at"))
    op.drop_table("workers_seen")
