"""Job state changes after submission: claim with a lease, renew, complete, fail or cancel with a refund.

Every change is a conditional UPDATE on the job's current state (and, for a worker, its attempt number),
so a stale worker, a duplicate message or a concurrent sweep can never undo or repeat a transition. These
functions only flush: the worker's step, the sweeper's step or the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.credits.service import refund_job
from app.db import utcnow
from app.jobs.events import enqueue_job_event
from app.jobs.models import Job, JobStatus
from app.jobs.service import get_job
from app.totals import service as totals
from app.webhooks.models import EventType


class ClaimOutcome(Enum):
    CLAIMED = "claimed"
    BUSY = "busy"  # another live worker holds the lease; try again when it may have lapsed
    GONE = "gone"  # nothing to do: finished, canceled, failed or unknown


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    attempt: int = 0
    retry_in: float = 0.0


def claim_job(session: Session, settings: Settings, job_id: str) -> Claim:
    """Take a queued job, or a running one whose lease lapsed (its worker died), for one more attempt."""
    now = utcnow()
    claimed = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.attempts < settings.job_max_attempts,
            or_(
                Job.status == JobStatus.QUEUED,
                (Job.status == JobStatus.RUNNING) & (Job.lease_expires_at < now),
            ),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            started_at=now,
            progress=0.0,
        )
        .returning(Job.attempts)
    ).scalar_one_or_none()
    if claimed is not None:
        return Claim(ClaimOutcome.CLAIMED, attempt=claimed)
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.status not in JobStatus.ACTIVE:
        return Claim(ClaimOutcome.GONE)
    if job.attempts >= settings.job_max_attempts:
        # Only once the last attempt's lease has lapsed: a duplicate message must not fail a live attempt.
        capped = ("worker_lost", "The job's worker stopped repeatedly; refunded.")
        if end_job(session, settings, job, JobStatus.FAILED, capped, lease_lapsed_by=now):
            return Claim(ClaimOutcome.GONE)
    lease_left = (job.lease_expires_at - now).total_seconds() if job.lease_expires_at else 0.0
    return Claim(ClaimOutcome.BUSY, retry_in=max(1.0, lease_left + 1.0))


def renew_lease(
    session: Session, job_id: str, attempt: int, lease_seconds: float, progress: float | None
) -> bool:
    """Extend a running attempt's lease (and record progress); False when the job is no longer ours."""
    values: dict[str, object] = {"lease_expires_at": utcnow() + timedelta(seconds=lease_seconds)}
    if progress is not None:
        values["progress"] = progress
    renewed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
        .values(**values)
        .returning(Job.id)
    ).first()
    return renewed is not None


def complete_job(
    session: Session, settings: Settings, job_id: str, attempt: int, output_key: str, output_bytes: int
) -> bool:
    """Record success for this attempt; False when the job was canceled or taken over meanwhile."""
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
        .values(
            status=JobStatus.SUCCEEDED,
            progress=1.0,
            output_key=output_key,
            output_bytes=output_bytes,
            finished_at=now,
            expires_at=now + timedelta(seconds=settings.result_ttl),
            lease_expires_at=None,
        )
        .returning(Job.id)
    ).first()
    if done is not None:
        job = session.get(Job, job_id, populate_existing=True)
        assert job is not None
        enqueue_job_event(session, settings, job, EventType.JOB_SUCCEEDED)
        totals.add(session, "jobs_finished", 1, status=JobStatus.SUCCEEDED, model=job.model)
        totals.add(session, "megapixels_processed", job.output_pixels / 1e6, model=job.model)
        if job.started_at is not None:
            totals.observe_duration(session, job.model, (now - job.started_at).total_seconds())
    return done is not None


def fail_attempt(
    session: Session, settings: Settings, job_id: str, attempt: int, code: str, message: str
) -> bool:
    """Fail and refund a job if this attempt still owns it."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.RUNNING or job.attempts != attempt:
        return False
    return end_job(session, settings, job, JobStatus.FAILED, (code, message), attempt=attempt)


def end_job(
    session: Session,
    settings: Settings,
    job: Job,
    status: str,
    error: tuple[str, str] | None = None,
    lease_lapsed_by: datetime | None = None,
    attempt: int | None = None,
) -> bool:
    """Move an active job to a final failed/canceled state and refund it, in the same unit, once.

    With `lease_lapsed_by`, only a job whose lease ran out before that moment moves (the sweeper's case:
    a worker that renewed its lease meanwhile keeps its job). False when the job did not move.
    """
    conditions = [Job.id == job.id, Job.status.in_(JobStatus.ACTIVE)]
    if lease_lapsed_by is not None:
        conditions.append(Job.lease_expires_at < lease_lapsed_by)
    if attempt is not None:  # a worker failing its own attempt, never one that took over since
        conditions.append(Job.attempts == attempt)
    values: dict[str, object] = {"status": status, "finished_at": utcnow(), "lease_expires_at": None}
    if error is not None:
        values.update(error_code=error[0], error_message=error[1])
    moved = session.execute(update(Job).where(*conditions).values(**values).returning(Job.id)).first()
    if moved is None:
        return False
    refunded = refund_job(session, job.account_id, job.id)
    session.execute(update(Job).where(Job.id == job.id).values(credits_refunded=refunded))
    session.refresh(job)
    totals.add(session, "jobs_finished", 1, status=status, model=job.model)
    if status == JobStatus.FAILED:
        enqueue_job_event(session, settings, job, EventType.JOB_FAILED)
    return True


def cancel_job(session: Session, settings: Settings, account_id: str, job_id: str) -> Job:
    """Cancel an account's queued or running job, refunded (a job that already ended is left as it is)."""
    job = get_job(session, account_id, job_id)
    if job.status in JobStatus.ACTIVE:
        end_job(session, settings, job, JobStatus.CANCELED)
    return job
