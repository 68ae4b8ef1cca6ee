"""When a job should end: its own remaining time, and while it is queued, the work ahead of it on its queue.

The speeds are the estimates' (app/estimates/service.py); the queue is the jobs table's, so its sums live
here and ride along the estimates' and the status read's statements rather than cost round trips of their
own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Float, String, bindparam, case, cast, func, null, select
from sqlalchemy.orm import Session, aliased

from app.db import utcnow
from app.estimates.service import (
    Speed,
    encoding_seconds_per_megapixel,
    model_speed_and_extra,
    speeds_statement,
)
from app.jobs.models import Job, JobStatus

# A running job's ETA is never under this, nor under this share of its time so far once it has overrun.
MIN_RUNNING_ETA_SECONDS = 1.0
OVERRUN_SHARE = 0.1


def _remaining(jobs: type[Job]) -> ColumnElement[float]:
    """The remaining seconds of the selected rows of `jobs` (Job or an alias of it): 0 for none."""
    return func.coalesce(func.sum(jobs.estimated_seconds * (1 - jobs.progress)), 0.0)


_REMAINING = _remaining(Job)
_ACTIVE_ON_QUEUE = (Job.queue == bindparam("queue"), Job.status.in_(JobStatus.ACTIVE))
# A model's speeds and the remaining seconds of every active job on a queue (`:queue`), in one statement:
# the work ahead of a job submitted now. Built once (see `speeds_statement`).
_SPEEDS_AND_AHEAD = speeds_statement(
    select(
        cast(null(), String), cast(null(), String), cast(null(), String), _REMAINING, cast(null(), Float)
    ).where(*_ACTIVE_ON_QUEUE)
)  # fmt: skip
# The remaining time of the jobs ahead of one on its queue.
_AHEAD = select(_REMAINING).where(*_ACTIVE_ON_QUEUE, Job.created_at < bindparam("created_at"))


def model_speed_and_ahead(session: Session, queue: str, model: str) -> tuple[Speed, float]:
    """The model's speed on the queue, and the remaining seconds of the active jobs on it now (for
    `eta_seconds`'s `ahead` of a job submitted now), in one statement."""
    return model_speed_and_extra(session, queue, model, _SPEEDS_AND_AHEAD, {"queue": queue})


def seconds_ahead_column() -> ColumnElement[float | None]:
    """For a select of `Job`: while the job is queued, the remaining seconds of the jobs ahead of it on its
    queue (what `eta_seconds` reads otherwise), so that a status read reads both in one statement."""
    other = aliased(Job)
    ahead = (
        select(_remaining(other))
        .where(
            other.queue == Job.queue,
            other.status.in_(JobStatus.ACTIVE),
            other.created_at < Job.created_at,
        )
        .scalar_subquery()
    )
    return case((Job.status == JobStatus.QUEUED, ahead), else_=None)


def eta_seconds(session: Session, job: Job, speed: Speed, ahead: float | None = None) -> float | None:
    """Seconds until an active job should end: its own remaining time, plus, while queued, the remaining
    time of the jobs ahead of it on its queue shared among the queue's live workers. None once it ended.

    `ahead`: those jobs' remaining seconds where the caller read them with the job
    (`seconds_ahead_column`); read here otherwise."""
    now = utcnow()
    own = job.estimated_seconds or speed.seconds_for(
        job.output_pixels, encoding_seconds_per_megapixel(job.output_format), job.input_frames or 1
    )
    if job.status == JobStatus.RUNNING:
        elapsed = (now - job.started_at).total_seconds() if job.started_at else 0.0
        progressed = job.progress >= 0.05
        remaining = elapsed / job.progress * (1 - job.progress) if progressed else own - elapsed
        # Work remains while it runs: a job past its estimate with little progress to go by (one window
        # of a heavy model) says a tenth of its time so far is left, never 0 (the next report corrects it).
        return max(remaining, OVERRUN_SHARE * elapsed * (1 - job.progress), MIN_RUNNING_ETA_SECONDS)
    if job.status != JobStatus.QUEUED:
        return None
    if ahead is None:
        ahead = session.execute(_AHEAD, {"queue": job.queue, "created_at": job.created_at}).scalar_one()
    return float(ahead or 0.0) / max(speed.live_workers, 1) + own
