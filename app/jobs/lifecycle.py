"""Job state changes made by workers and the sweeper: claim with a lease, renew, complete, fail, expire.

Every change is a conditional UPDATE on the job's current state (and, for a worker, its attempt number),
so a stale worker, a duplicate message or a concurrent sweep can never undo or repeat a transition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.config import Settings, get_settings
from app.db import utcnow
from app.jobs.dispatch import upscale_message
from app.jobs.models import IdempotencyRecord, Job, JobStatus
from app.jobs.service import delete_job_files, end_job
from app.jobs.uploads import sweep_uploads
from app.storage import Storage
from app.task_queue import send_after_commit
from app.webhooks.events import enqueue_job_event
from app.webhooks.models import EventType

log = logging.getLogger(__name__)


class ClaimOutcome(Enum):
    CLAIMED = "claimed"
    BUSY = "busy"  # another live worker holds the lease; try again when it may have lapsed
    GONE = "gone"  # nothing to do: finished, canceled, failed or unknown


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    attempt: int = 0
    retry_in: float = 0.0


def claim_job(session: Session, job_id: str, settings: Settings) -> Claim:
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
    session.commit()
    if claimed is not None:
        return Claim(ClaimOutcome.CLAIMED, attempt=claimed)
    job = session.get(Job, job_id)
    if job is None or job.status not in JobStatus.ACTIVE:
        return Claim(ClaimOutcome.GONE)
    if job.attempts >= settings.job_max_attempts:
        # Only once the last attempt's lease has lapsed: a duplicate message must not fail a live attempt.
        capped = ("worker_lost", "The job's worker stopped repeatedly; refunded.")
        if end_job(session, job, JobStatus.FAILED, capped, lease_lapsed_by=now):
            return Claim(ClaimOutcome.GONE)
        session.refresh(job)
        if job.status not in JobStatus.ACTIVE:
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
    session.commit()
    return renewed is not None


def complete_job(
    session: Session, job_id: str, attempt: int, output_key: str, output_bytes: int, result_ttl: int
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
            expires_at=now + timedelta(seconds=result_ttl),
            lease_expires_at=None,
        )
        .returning(Job.id)
    ).first()
    if done is not None:
        job = session.get(Job, job_id, populate_existing=True)
        assert job is not None
        enqueue_job_event(session, get_settings(), job, EventType.JOB_SUCCEEDED)
    session.commit()
    return done is not None


def fail_attempt(session: Session, job_id: str, attempt: int, code: str, message: str) -> bool:
    """Fail and refund a job if this attempt still owns it."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.RUNNING or job.attempts != attempt:
        return False
    return end_job(session, job, JobStatus.FAILED, (code, message), attempt=attempt)


def release_input(session: Session, storage: Storage, job_id: str) -> None:
    """Delete an ended job's input now (privacy: inputs live only while their job runs)."""
    job = session.get(Job, job_id)
    key = job.input_key if job is not None and job.status not in JobStatus.ACTIVE else None
    session.commit()  # not holding SQLite's write lock across storage I/O
    if key:
        storage.delete(key)
        session.execute(update(Job).where(Job.id == job_id).values(input_key=None))
        session.commit()


@dataclass
class SweepReport:
    lost: list[str] = field(default_factory=list)
    redispatched: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    inputs_deleted: list[str] = field(default_factory=list)


def sweep(session: Session, storage: Storage, settings: Settings) -> SweepReport:
    """One pass of the beat sweeper: fail lost jobs, re-send stale queued ones, delete what is due."""
    now = utcnow()
    report = SweepReport()
    lost = select(Job).where(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)
    for job in list(session.execute(lost).scalars()):
        lost_error = ("worker_lost", "The worker running this job stopped; refunded.")
        if end_job(session, job, JobStatus.FAILED, lost_error, lease_lapsed_by=now):
            report.lost.append(job.id)
    stale_before = now - timedelta(seconds=settings.queue_redispatch_seconds)
    # Never sent (the broker was down when it was accepted), or sent long ago and still waiting.
    stale = select(Job).where(
        Job.status == JobStatus.QUEUED, or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale_before)
    )
    for job in list(session.execute(stale).scalars()):
        session.execute(update(Job).where(Job.id == job.id).values(dispatched_at=now))
        send_after_commit(session, upscale_message(job))
        session.commit()
        report.redispatched.append(job.id)
    due = select(Job).where(Job.status == JobStatus.SUCCEEDED, Job.expires_at <= now)
    for job in list(session.execute(due).scalars()):
        delete_job_files(session, storage, job)
        report.expired.append(job.id)
    leftovers = select(Job).where(Job.status.not_in(JobStatus.ACTIVE), Job.input_key.is_not(None))
    for job in list(session.execute(leftovers).scalars()):
        release_input(session, storage, job.id)
        report.inputs_deleted.append(job.id)
    sweep_uploads(session, storage, now)
    cutoff = now - timedelta(seconds=settings.idempotency_ttl)
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    session.commit()
    return report
