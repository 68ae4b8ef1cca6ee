"""The beat's sweeper: one pass over every domain's housekeeping, in bounded batches.

It sits above the domains and owns none of their tables: the jobs domain fails lost jobs, re-sends stale ones
and deletes what is due (app/jobs/retention.py); each domain prunes its own rows past their retention (jobs,
uploads and idempotency keys; webhook messages; browser sessions). The ledger is never pruned.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import text

from app.accounts.retention import prune_sessions
from app.db import utcnow
from app.jobs.retention import JobSweep, prune_job_rows, sweep_jobs
from app.runtime import Runtime
from app.webhooks.retention import prune_messages

_SWEEP_LOCK = 7_305_200_041  # pg_advisory_lock key: "one sweeper at a time"


@dataclass
class SweepReport(JobSweep):
    """What one pass did: the jobs' steps, and the rows every domain pruned."""

    rows_pruned: int = 0
    skipped: bool = False  # another sweeper holds the lock


@contextmanager
def _one_sweeper(runtime: Runtime) -> Iterator[bool]:
    """On Postgres, a session-level advisory lock for the pass: a second beat started by mistake skips its
    passes instead of doubling the work (each step is idempotent anyway). SQLite is one machine's."""
    if runtime.engine.dialect.name != "postgresql":
        yield True
        return
    with runtime.engine.connect() as connection:
        held = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _SWEEP_LOCK}).scalar()
        )
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SWEEP_LOCK})
                connection.commit()


def sweep(runtime: Runtime) -> SweepReport:
    """One pass of the beat sweeper: the jobs' housekeeping, then every domain's rows past retention."""
    with _one_sweeper(runtime) as held:
        if not held:
            return SweepReport(skipped=True)
        now = utcnow()
        report = SweepReport()
        sweep_jobs(runtime, now, report)
        report.rows_pruned = prune_job_rows(runtime, now)
        report.rows_pruned += prune_messages(runtime.unit_of_work, runtime.settings, now)
        report.rows_pruned += prune_sessions(runtime.unit_of_work, now)
        return report
