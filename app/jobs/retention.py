"""The jobs domain's part of the sweeper (app/sweeper.py), and deleting a job's files now: lost jobs,
re-sends, expiry, leftovers, and its rows past their retention.

Each job is its own step: read what to delete, delete it from storage with no transaction open, then
record the deletion in a unit of work of its own. A failure leaves the keys in place, so the next sweep
tries again: an object is never forgotten while it still exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from app import db
from app.db import delete_in_batches, locked_batch, utcnow
from app.jobs.dispatch import send_upscale_after_commit
from app.jobs.events import enqueue_job_event
from app.jobs.lifecycle import end_job
from app.jobs.models import IdempotencyRecord, Job, JobStatus, Upload
from app.runtime import Runtime
from app.webhooks.models import EventType


def delete_job_files(runtime: Runtime, job_id: str) -> None:
    """Delete a job's stored objects now; a succeeded job whose result is gone becomes `expired` (once)."""
    with runtime.unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        input_key, output_key = job.input_key, job.output_key
    for key in (input_key, output_key):
        if key:
            runtime.storage.delete(key)
    with runtime.unit_of_work() as session:
        # Only the keys deleted above are forgotten: a result recorded meanwhile keeps its key.
        if input_key:
            session.execute(
                update(Job).where(Job.id == job_id, Job.input_key == input_key).values(input_key=None)
            )
        if output_key:
            session.execute(
                update(Job).where(Job.id == job_id, Job.output_key == output_key).values(output_key=None)
            )
        expired = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.SUCCEEDED, Job.output_key.is_(None))
            .values(status=JobStatus.EXPIRED, expires_at=utcnow())
            .returning(Job.id)
        ).first()
        if expired is not None:  # a sweep and a user's delete racing announce the expiry once
            expired_job = session.get(Job, job_id, populate_existing=True)
            assert expired_job is not None
            enqueue_job_event(session, runtime.settings, expired_job, EventType.JOB_EXPIRED)


def release_input(runtime: Runtime, job_id: str) -> None:
    """Delete an ended job's input now (privacy: inputs live only while their job runs)."""
    with runtime.unit_of_work() as session:
        job = session.get(Job, job_id)
        key = job.input_key if job is not None and job.status not in JobStatus.ACTIVE else None
    if key:
        runtime.storage.delete(key)
        with runtime.unit_of_work() as session:
            session.execute(update(Job).where(Job.id == job_id, Job.input_key == key).values(input_key=None))


def _each_in_batches(runtime: Runtime, query: Select[str], act: Callable[[Session, str], bool]) -> list[str]:
    """Act on matching rows a batch per unit of work (the batch locked while it is worked on)."""
    done: list[str] = []
    for _ in range(db.MAX_BATCHES):
        with runtime.unit_of_work() as session:
            ids = list(session.execute(locked_batch(query)).scalars())
            done += [row_id for row_id in ids if act(session, row_id)]
        if len(ids) < db.BATCH:
            break
    return done


def _ids_in_batches(runtime: Runtime, query: Select[str]) -> Iterator[str]:
    """Matching ids a batch at a time, for steps with storage I/O between their units (idempotent steps)."""
    for _ in range(db.MAX_BATCHES):
        with runtime.unit_of_work() as session:
            ids = list(session.execute(query.limit(db.BATCH)).scalars())
        yield from ids
        if len(ids) < db.BATCH:
            return


@dataclass
class JobSweep:
    """What one sweeper pass did to jobs (app/sweeper.py runs it)."""

    lost: list[str] = field(default_factory=list)
    redispatched: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    inputs_deleted: list[str] = field(default_factory=list)
    uploads_deleted: list[str] = field(default_factory=list)


def sweep_jobs(runtime: Runtime, now: datetime, report: JobSweep | None = None) -> JobSweep:
    """Fail lost jobs, re-send stale queued ones, delete results that are due and inputs left over, and
    the objects of upload slots that expired unused; every step in bounded batches. What was done goes into
    `report` (a new one without)."""
    settings, report = runtime.settings, JobSweep() if report is None else report
    lost_error = ("worker_lost", "The worker running this job stopped; refunded.")

    def fail_lost(session: Session, job_id: str) -> bool:
        job = session.get(Job, job_id)
        if job is None:
            return False
        return end_job(session, settings, job, JobStatus.FAILED, lost_error, lease_lapsed_by=now)

    lost = select(Job.id).where(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)
    report.lost = _each_in_batches(runtime, lost, fail_lost)

    def send_again(session: Session, job_id: str) -> bool:
        job = session.get(Job, job_id)
        if job is None or job.status != JobStatus.QUEUED:
            return False
        job.dispatched_at = now
        send_upscale_after_commit(session, job)
        return True

    stale_before = now - timedelta(seconds=settings.queue_redispatch_seconds)
    # Never sent (the broker was down when it was accepted), or sent long ago and still waiting.
    stale = select(Job.id).where(
        Job.status == JobStatus.QUEUED, or_(Job.dispatched_at.is_(None), Job.dispatched_at < stale_before)
    )
    report.redispatched = _each_in_batches(runtime, stale, send_again)
    due = select(Job.id).where(Job.status == JobStatus.SUCCEEDED, Job.expires_at <= now)
    for job_id in _ids_in_batches(runtime, due):
        delete_job_files(runtime, job_id)
        report.expired.append(job_id)
    leftovers = select(Job.id).where(Job.status.not_in(JobStatus.ACTIVE), Job.input_key.is_not(None))
    for job_id in _ids_in_batches(runtime, leftovers):
        release_input(runtime, job_id)
        report.inputs_deleted.append(job_id)
    report.uploads_deleted = sweep_uploads(runtime, now)
    return report


FINAL = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.EXPIRED)


def prune_job_rows(runtime: Runtime, now: datetime) -> int:
    """Delete the jobs domain's rows past their retention, a batch per unit: jobs that ended more than
    MR_JOB_ROW_RETENTION ago (their files long gone), used or expired upload slots, and idempotency keys.
    The ledger is never pruned: it is the accounting truth, and it names jobs by id without their rows."""
    cutoff = now - timedelta(seconds=runtime.settings.job_row_retention)
    ended = select(Job.id).where(
        Job.status.in_(FINAL),
        Job.finished_at < cutoff,
        Job.input_key.is_(None),
        Job.output_key.is_(None),
    )
    pruned = delete_in_batches(runtime.unit_of_work, Job, ended)
    used = select(Upload.id).where(Upload.consumed_at < cutoff)
    pruned += delete_in_batches(runtime.unit_of_work, Upload, used)
    with runtime.unit_of_work() as session:
        keys_before = now - timedelta(seconds=runtime.settings.idempotency_ttl)
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < keys_before))
    return pruned


def sweep_uploads(runtime: Runtime, now: datetime) -> list[str]:
    """Delete the objects of direct-upload slots that expired unused."""
    stale = select(Upload).where(Upload.consumed_at.is_(None), Upload.expires_at <= now)
    with runtime.unit_of_work() as session:
        uploads = [(upload.id, upload.key) for upload in session.execute(stale).scalars()]
    for upload_id, key in uploads:
        runtime.storage.delete(key)
        with runtime.unit_of_work() as session:
            session.execute(
                update(Upload)
                .where(Upload.id == upload_id, Upload.consumed_at.is_(None))
                .values(consumed_at=now)
            )
    return [upload_id for upload_id, _ in uploads]
