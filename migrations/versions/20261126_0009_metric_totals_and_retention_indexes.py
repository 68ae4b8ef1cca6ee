"""metric totals (counters kept with their events, filled once from the rows so far); indexes for pruning

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The counters as they would stand had they been kept from the start (the one full scan, at upgrade). The
# duration histogram starts empty: run times were never stored per job in a portable form.
_BACKFILL = (
    """INSERT INTO metric_totals (name, labels, value)
       SELECT 'jobs_finished', 'model=' || model || ',status=' || status, COUNT(*) FROM (
         SELECT model, CASE WHEN status = 'expired' THEN 'succeeded' ELSE status END AS status FROM jobs
         WHERE status IN ('succeeded', 'expired', 'failed', 'canceled')) AS ended
       GROUP BY model, status""",
    """INSERT INTO metric_totals (name, labels, value)
       SELECT 'megapixels_processed', 'model=' || model,
              SUM(CAST(output_width AS FLOAT) * output_height) / 1e6
       FROM jobs WHERE status IN ('succeeded', 'expired') GROUP BY model""",
    """INSERT INTO metric_totals (name, labels, value)
       SELECT 'credits_charged', '', -SUM(amount) FROM ledger_entries WHERE kind = 'job_hold'
       HAVING COUNT(*) > 0""",
    """INSERT INTO metric_totals (name, labels, value)
       SELECT 'credits_refunded', '', SUM(amount) FROM ledger_entries WHERE kind = 'job_refund'
       HAVING COUNT(*) > 0""",
    """INSERT INTO metric_totals (name, labels, value)
       SELECT 'webhook_messages_finished', 'event=' || event_type || ',status=' || status, COUNT(*)
       FROM webhook_messages WHERE status IN ('succeeded', 'failed') GROUP BY event_type, status""",
    """INSERT INTO metric_totals (name, labels, value)
       SELECT 'webhook_attempts', 'outcome=' || outcome, COUNT(*) FROM (
         SELECT CASE WHEN status_code BETWEEN 200 AND 299 THEN 'success'
                     WHEN status_code IS NULL THEN 'no_response' ELSE 'http_error' END AS outcome
         FROM webhook_attempts) AS attempts
       GROUP BY outcome""",
)


def upgrade() -> None:
    op.create_table(
        "metric_totals",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("labels", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "labels", name=op.f("pk_metric_totals")),
    )
    for statement in _BACKFILL:
        op.execute(statement)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_finished", ["status", "finished_at"], unique=False)
    with op.batch_alter_table("webhook_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_messages_status_finished_at", ["status", "finished_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_messages_status_finished_at")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_finished")
    op.drop_table("metric_totals")
