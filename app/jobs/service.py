"""Submitting jobs (store, reserve, send) and reading them: what the API does with jobs.

What a request would run and cost is checked in app/jobs/checks.py; state changes after submission are
in app/jobs/lifecycle.py; deleting files on schedule in retention.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import new_id
from app.catalog.presets import AUTO
from app.config import Settings
from app.credits.service import Hold, hold_credits
from app.db import after_commit, after_rollback, utcnow
from app.errors import InvalidCursor
from app.jobs import errors, idempotency
from app.jobs.checks import JobRequest, Quote, check_job
from app.jobs.dispatch import send_upscale_after_commit
from app.jobs.eta import seconds_ahead_column
from app.jobs.file_names import clean_upload_name
from app.jobs.models import Job, JobStatus
from app.jobs.uploads import claim_upload
from app.media.decode_budget import DecodeBudget
from app.media.video_probe import VideoInfo
from app.runtime import Runtime
from app.webhooks.events import enqueue
from app.webhooks.models import EventType
from models.recipe import Recipe, recipe_to_data


@dataclass(frozen=True)
class Submission:
    job: Job
    replayed: bool
    # A new job's: the work ahead of it on its queue, read with its checks (for its answer's ETA).
    ahead: float | None = None


def content_of_upload(upload_id: str) -> str:
    return f"upload:{upload_id}"


def earlier_job(session: Session, account_id: str, key: str, request_fingerprint: str) -> Job | None:
    """The job an earlier identical request with this key created, without claiming the key."""
    job_id = idempotency.earlier_job_id(session, account_id, key, request_fingerprint)
    return session.get(Job, job_id) if job_id else None


def submit_job(
    session: Session,
    runtime: Runtime,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    data: bytes,
    idempotency_key: str | None = None,
    upload_id: str | None = None,
    filename: str | None = None,
) -> Submission:
    """Accept a job: validate (`check_job`), store the input, then create the job and reserve its price in
    this unit.

    The key is claimed first, so a replay costs no validation. The input is stored before the unit's first
    write (no lock is held across storage I/O) and deleted again if the unit rolls back. With `upload_id`
    the direct upload is claimed in this unit, its object deleted after. The job keeps the file's name
    (`filename`, else the one given when the upload slot was opened), cleaned.
    """
    content = content_of_upload(upload_id) if upload_id else hashlib.sha256(data).hexdigest()
    fingerprint = request.fingerprint(content)  # of the request as sent: `auto` stays `auto`
    if idempotency_key is not None:
        earlier = idempotency.claim_key(runtime.sessions, account_id, idempotency_key, fingerprint)
        if earlier is not None:
            return Submission(job=_job(session, earlier), replayed=True)
        after_rollback(
            session, lambda: idempotency.release_key(runtime.sessions, account_id, idempotency_key)
        )
    checked = check_job(session, runtime, decode_budget, account_id, request, data, charging=True)
    quote = checked.quote
    job = _new_job(runtime.settings, account_id, checked.request, data, quote)
    job.filename = clean_upload_name(filename)
    job.reason = checked.reason
    if checked.auto:
        job.preset = AUTO
    runtime.storage.put(job.input_key or "", data, "application/octet-stream")
    after_rollback(session, lambda: runtime.storage.delete(job.input_key or ""))
    session.add(job)
    session.flush()
    held = hold_credits(session, account_id, quote.price, job.id)
    _announce_low_balance(session, runtime.settings, account_id, held, quote.price)
    if upload_id is not None:
        claimed = claim_upload(session, account_id, upload_id)
        job.filename = job.filename or claimed.filename
        after_commit(session, lambda: runtime.storage.delete(claimed.key))
    if idempotency_key is not None:
        idempotency.link_key(session, account_id, idempotency_key, job.id)
    send_upscale_after_commit(session, job)
    return Submission(job=job, replayed=False, ahead=quote.ahead)


def submit_or_replay(
    session: Session,
    runtime: Runtime,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    read: Callable[[], bytes],
    *,
    upload_id: str | None,
    filename: str | None,
    idempotency_key: str | None,
) -> Submission:
    """`submit_job` the input that `read` gives; with a direct upload and a key an earlier request used,
    that request's job (a retry must replay, not find the upload already claimed)."""
    if upload_id is not None and idempotency_key:
        fingerprint = request.fingerprint(content_of_upload(upload_id))
        earlier = earlier_job(session, account_id, idempotency_key, fingerprint)
        if earlier is not None:
            return Submission(job=earlier, replayed=True)
    return submit_job(
        session, runtime, decode_budget, account_id, request, read(), idempotency_key, upload_id, filename
    )


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    assert job is not None
    return job


def _new_job(settings: Settings, account_id: str, request: JobRequest, data: bytes, quote: Quote) -> Job:
    info, offer = quote.info, quote.choice.offer
    video = info if isinstance(info, VideoInfo) else None
    job = Job(
        id=new_id(),
        account_id=account_id,
        model=offer.id,
        scale=request.scale,
        denoise=quote.choice.options.denoise,
        conservative=quote.choice.options.conservative,
        preset=quote.choice.preset,
        reason=quote.choice.reason,
        recipe=_stored_recipe(quote.choice.recipe),
        detail=quote.choice.detail,
        queue=quote.queue,
        input_width=info.width,
        input_height=info.height,
        input_format=info.format,
        input_bytes=len(data),
        input_frames=video.frames if video else None,
        input_fps=round(video.fps, 3) if video else None,
        input_duration=round(video.duration, 3) if video else None,
        output_width=info.width * request.scale,
        output_height=info.height * request.scale,
        output_format=quote.output_format,
        output_quality=request.output_quality,
        metadata_mode=request.metadata,
        credits_charged=quote.price,
        estimated_seconds=quote.seconds,
        webhook_url=request.webhook_url,
        dispatched_at=utcnow(),
    )
    job.input_key = f"inputs/{job.id}"
    return job


def _stored_recipe(recipe: Recipe) -> str | None:
    """The recipe as the job row keeps it: null where it is the one model the row names."""
    if len(recipe.steps) == 1 and recipe.steps[0].scale is None:
        return None
    return json.dumps(recipe_to_data(recipe), separators=(",", ":"))


def _announce_low_balance(
    session: Session, settings: Settings, account_id: str, held: Hold, price: int
) -> None:
    """`credits.low` once: when a charge takes the balance from at or above the threshold to below it."""
    threshold, after = held.low_threshold, held.balance
    if threshold is not None and after + price >= threshold > after:
        data = {"account_id": account_id, "credits_balance": after, "threshold": threshold}
        enqueue(session, settings, account_id, EventType.CREDITS_LOW, data)


def forget_file_name(session: Session, account_id: str, job_id: str) -> Job:
    """ "Delete now" deletes the upload's name with the files (it can say as much as the image: a
    passport scan's); a job that just expires keeps it in its history for the row's retention."""
    job = get_job(session, account_id, job_id)
    job.filename = None
    return job


# A job by id, and while it is queued the seconds of work ahead of it: a status read's job and its ETA's
# sum, one statement instead of two (bench/api_load.py).
_JOB_AND_AHEAD = select(Job, seconds_ahead_column()).where(Job.id == bindparam("job_id"))


def get_job_and_ahead(session: Session, account_id: str, job_id: str) -> tuple[Job, float | None]:
    """An account's own job (as `get_job`), and while it is queued the remaining seconds of the jobs ahead
    of it on its queue."""
    row = session.execute(_JOB_AND_AHEAD, {"job_id": job_id}).first()
    if row is None or row[0].account_id != account_id:
        raise errors.JobNotFound()
    return row[0], row[1]


def get_job(session: Session, account_id: str, job_id: str) -> Job:
    """An account's own job; another account's job is indistinguishable from a missing one (404)."""
    job = session.get(Job, job_id)
    if job is None or job.account_id != account_id:
        raise errors.JobNotFound()
    return job


def finished_jobs(session: Session, account_id: str, job_ids: list[str]) -> list[Job]:
    """The account's jobs among these ids that have a result now, in the order asked."""
    found = session.execute(
        select(Job).where(
            Job.account_id == account_id,
            Job.id.in_(job_ids),
            Job.status == JobStatus.SUCCEEDED,
            Job.output_key.is_not(None),
        )
    ).scalars()
    by_id = {job.id: job for job in found}
    return [by_id[job_id] for job_id in job_ids if job_id in by_id]


def latest_results(session: Session, account_id: str, limit: int) -> list[Job]:
    """The account's newest jobs that have a result now, at most `limit`, newest first."""
    query = select(Job).where(
        Job.account_id == account_id, Job.status == JobStatus.SUCCEEDED, Job.output_key.is_not(None)
    )
    return list(session.execute(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)).scalars())


def encode_cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, _, job_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None or not job_id.isprintable():
            raise ValueError(cursor)
        moment = moment.astimezone(UTC)  # year 9999 at UTC-14 overflows here, not in the database
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None
    return moment, job_id


def list_jobs(
    session: Session, account_id: str, limit: int, cursor: str | None
) -> tuple[list[Job], str | None]:
    """An account's jobs, newest first, with a keyset cursor that is stable under inserts."""
    query = select(Job).where(Job.account_id == account_id)
    if cursor:
        created, job_id = _decode_cursor(cursor)
        query = query.where(or_(Job.created_at < created, and_(Job.created_at == created, Job.id < job_id)))
    rows = list(
        session.execute(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)).scalars()
    )
    page = rows[:limit]
    return page, encode_cursor(page[-1]) if len(rows) > limit else None


# Polling a waiting job: quick at first (small jobs end within a second), then every second.
_FIRST_POLL, _LONGEST_POLL = 0.1, 1.0


async def wait_for_end(runtime: Runtime, job_id: str, seconds: float) -> Job:
    """The job once it has ended, or as it stands after `seconds` (for `Prefer: wait`).

    Waits on the event loop between reads (no thread is held while waiting): one primary-key read per poll,
    backing off from 0.1 s to 1 s.
    """
    deadline = time.monotonic() + seconds
    pause = _FIRST_POLL
    while True:
        job = await anyio.to_thread.run_sync(_read_job, runtime, job_id)
        left = deadline - time.monotonic()
        if job.status not in JobStatus.ACTIVE or left <= 0:
            return job
        await anyio.sleep(min(pause, left))
        pause = min(pause * 2, _LONGEST_POLL)


def _read_job(runtime: Runtime, job_id: str) -> Job:
    with runtime.unit_of_work() as session:
        return _job(session, job_id)
