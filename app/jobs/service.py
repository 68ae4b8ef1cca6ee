"""Job operations on the API side: submit (validate, price, store, reserve), read, list, cancel."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Account, new_id
from app.config import Settings, get_settings
from app.credits.service import check_balance, refund_job, reserve_credits
from app.db import utcnow
from app.jobs import errors
from app.jobs.decode_budget import DecodeBudget
from app.jobs.dispatch import upscale_message
from app.jobs.image_codec import ImageInfo, check_decodes, default_output_format, read_header
from app.jobs.models import IdempotencyRecord, Job, JobStatus
from app.jobs.uploads import claim_upload
from app.storage import Storage
from app.task_queue import send_after_commit
from app.webhooks.events import enqueue, enqueue_job_event
from app.webhooks.models import EventType
from app.webhooks.service import check_webhook_url
from models.registry import ModelSpec, UnknownModel, get_model


@dataclass(frozen=True)
class JobRequest:
    """The parameters of one upscale, as the client sent them."""

    model: str
    scale: int
    output_format: str | None = None
    output_quality: int = 92
    metadata: str = "default"
    webhook_url: str | None = None


@dataclass(frozen=True)
class Quote:
    """A request checked against its image's header: the model, what the header says, and the price."""

    spec: ModelSpec
    info: ImageInfo
    price: int


@dataclass(frozen=True)
class Submission:
    job: Job
    replayed: bool


def resolve_model(settings: Settings, model_id: str, scale: int) -> ModelSpec:
    """The model a request names, if it exists, takes this scale and has its weights in place."""
    try:
        spec = get_model(model_id)
    except UnknownModel:
        raise errors.UnknownModel(f"No model named {model_id!r}; see GET /v1/models.") from None
    if scale not in spec.scales:
        raise errors.UnsupportedScale(f"Scale must be one of {', '.join(map(str, spec.scales))}.")
    if not spec.installed(settings.resolved_models_dir):
        raise errors.ModelUnavailable(
            f"The weights of {model_id!r} are not installed here (an operator runs `mindrender models "
            "install`); GET /v1/models lists the available models."
        )
    return spec


def quote_job(settings: Settings, request: JobRequest, data: bytes) -> Quote:
    """Validate a request and its image's header and price it; nothing is decoded, charged or stored."""
    spec = resolve_model(settings, request.model, request.scale)
    if request.webhook_url:
        check_webhook_url(settings, request.webhook_url)
    info = read_header(data, settings.max_input_pixels)
    output_pixels = info.width * info.height * request.scale**2
    if output_pixels > settings.max_output_pixels:
        raise errors.OutputTooLarge(
            f"At x{request.scale} the result would be "
            f"{info.width * request.scale}x{info.height * request.scale}; "
            f"at most {settings.max_output_pixels:,} output pixels are allowed."
        )
    return Quote(spec, info, spec.pricing.credits_for(output_pixels))


def route_queue(settings: Settings, spec: ModelSpec, info: ImageInfo) -> str:
    """The model's queue, except that tiny inputs for GPU models go to CPU workers (a GPU is the scarce
    resource, and a CPU finishes them in about a second)."""
    if spec.queue == "gpu" and info.width * info.height <= settings.cpu_small_job_input_pixels:
        return "cpu"
    return spec.queue


def fingerprint(request: JobRequest, content: str) -> str:
    """What makes two requests the same for Idempotency-Key: every parameter and the content's identity
    (the file's SHA-256, or the direct upload's id)."""
    parts = [request.model, str(request.scale), request.output_format or "", request.webhook_url or ""]
    parts += [str(request.output_quality), request.metadata, content]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def content_of_upload(upload_id: str) -> str:
    return f"upload:{upload_id}"


def earlier_job(session: Session, account_id: str, key: str, request_fingerprint: str) -> Job | None:
    """The job an earlier identical request with this key created, without claiming the key."""
    record = session.get(IdempotencyRecord, (account_id, key))
    session.commit()
    if record is None:
        return None
    if record.fingerprint != request_fingerprint:
        raise errors.IdempotencyKeyReused()
    if record.job_id is None:
        raise errors.IdempotencyKeyInFlight()
    return session.get(Job, record.job_id)


def _claim_idempotency_key(session: Session, account_id: str, key: str, fingerprint: str) -> Job | None:
    """Mark a key in flight (own transaction) or return the job an earlier identical request created."""
    session.add(IdempotencyRecord(account_id=account_id, key=key, fingerprint=fingerprint))
    try:
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    record = session.get(IdempotencyRecord, (account_id, key))
    if record is None:  # released between our insert and read: the other request failed; try again
        return _claim_idempotency_key(session, account_id, key, fingerprint)
    if record.fingerprint != fingerprint:
        raise errors.IdempotencyKeyReused()
    if record.job_id is None:
        raise errors.IdempotencyKeyInFlight()
    return session.get(Job, record.job_id)


def _release_idempotency_key(session: Session, account_id: str, key: str) -> None:
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key
        )
    )
    session.commit()


def submit_job(
    session: Session,
    storage: Storage,
    settings: Settings,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    data: bytes,
    idempotency_key: str | None = None,
    upload_id: str | None = None,
) -> Submission:
    """Accept a job: validate, then store the input and reserve its price atomically (all or nothing).

    The header prices the job and the balance is checked before the image is decoded (the costly check,
    bounded by `decode_budget`), so a request that cannot be paid for costs almost nothing. With
    `upload_id` the direct upload is claimed in the same transaction, and its object deleted after.
    """
    quote = quote_job(settings, request, data)
    if idempotency_key is not None:
        content = content_of_upload(upload_id) if upload_id else hashlib.sha256(data).hexdigest()
        earlier = _claim_idempotency_key(session, account_id, idempotency_key, fingerprint(request, content))
        if earlier is not None:
            return Submission(job=earlier, replayed=True)
    try:
        check_balance(session, account_id, quote.price)
        session.commit()  # not holding SQLite's write lock while decoding
        with decode_budget.hold(quote.info.width * quote.info.height):
            check_decodes(data)
        job = _store_and_reserve(
            session, storage, settings, account_id, request, data, quote, idempotency_key, upload_id
        )
    except BaseException:
        session.rollback()
        if idempotency_key is not None:
            _release_idempotency_key(session, account_id, idempotency_key)
        raise
    return Submission(job=job, replayed=False)


def _store_and_reserve(
    session: Session,
    storage: Storage,
    settings: Settings,
    account_id: str,
    request: JobRequest,
    data: bytes,
    quote: Quote,
    idempotency_key: str | None,
    upload_id: str | None,
) -> Job:
    """Store the input, then create the job and reserve its price in one transaction (or undo the store)."""
    spec, info, price = quote.spec, quote.info, quote.price
    job = Job(
        id=new_id(),
        account_id=account_id,
        model=spec.id,
        scale=request.scale,
        queue=route_queue(settings, spec, info),
        input_width=info.width,
        input_height=info.height,
        input_format=info.format,
        input_bytes=len(data),
        output_width=info.width * request.scale,
        output_height=info.height * request.scale,
        output_format=request.output_format or default_output_format(info.format),
        output_quality=request.output_quality,
        metadata_mode=request.metadata,
        credits_charged=price,
        webhook_url=request.webhook_url,
        dispatched_at=utcnow(),
    )
    job.input_key = f"inputs/{job.id}"
    storage.put(job.input_key, data, "application/octet-stream")
    try:
        session.add(job)
        session.flush()
        send_after_commit(session, upscale_message(job))
        balance = reserve_credits(session, account_id, price, job.id)
        _announce_low_balance(session, settings, account_id, balance + price, balance)
        upload_key = claim_upload(session, account_id, upload_id) if upload_id else None
        if idempotency_key is not None:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == idempotency_key)
                .values(job_id=job.id)
            )
        session.commit()
    except BaseException:
        session.rollback()
        storage.delete(job.input_key)
        raise
    if upload_key is not None:
        storage.delete(upload_key)
    return job


def _announce_low_balance(
    session: Session, settings: Settings, account_id: str, before: int, after: int
) -> None:
    """`credits.low` once: when a charge takes the balance from at or above the threshold to below it."""
    threshold = session.execute(
        select(Account.credits_low_threshold).where(Account.id == account_id)
    ).scalar_one_or_none()
    if threshold is not None and before >= threshold > after:
        data = {"account_id": account_id, "credits_balance": after, "threshold": threshold}
        enqueue(session, settings, account_id, EventType.CREDITS_LOW, data)


def get_job(session: Session, account_id: str, job_id: str) -> Job:
    """An account's own job; another account's job is indistinguishable from a missing one (404)."""
    job = session.get(Job, job_id)
    if job is None or job.account_id != account_id:
        raise errors.JobNotFound()
    return job


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
        raise errors.InvalidCursor() from None
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


def end_job(
    session: Session,
    job: Job,
    status: str,
    error: tuple[str, str] | None = None,
    lease_lapsed_by: datetime | None = None,
    attempt: int | None = None,
) -> bool:
    """Move an active job to a final failed/canceled state and refund it, in one transaction, once.

    With `lease_lapsed_by`, only a job whose lease ran out before that moment moves (the sweeper's case:
    a worker that renewed its lease meanwhile keeps its job).
    """
    now = utcnow()
    conditions = [Job.id == job.id, Job.status.in_(JobStatus.ACTIVE)]
    if lease_lapsed_by is not None:
        conditions.append(Job.lease_expires_at < lease_lapsed_by)
    if attempt is not None:  # a worker failing its own attempt, never one that took over since
        conditions.append(Job.attempts == attempt)
    values: dict[str, object] = {"status": status, "finished_at": now, "lease_expires_at": None}
    if error is not None:
        values.update(error_code=error[0], error_message=error[1])
    moved = session.execute(update(Job).where(*conditions).values(**values).returning(Job.id)).first()
    if moved is None:
        session.rollback()
        return False
    refunded = refund_job(session, job.account_id, job.id)
    session.execute(update(Job).where(Job.id == job.id).values(credits_refunded=refunded))
    if status == JobStatus.FAILED:
        session.refresh(job)
        enqueue_job_event(session, get_settings(), job, EventType.JOB_FAILED)
    session.commit()
    session.refresh(job)
    return True


def delete_job_files(session: Session, storage: Storage, job: Job) -> None:
    """Delete a job's stored objects now; a succeeded job whose result is gone becomes `expired` (once)."""
    keys = [key for key in (job.input_key, job.output_key) if key]
    session.commit()  # end the read first: on SQLite it holds the write lock, and storage I/O can be slow
    for key in keys:
        storage.delete(key)
    session.execute(update(Job).where(Job.id == job.id).values(input_key=None, output_key=None))
    expired = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.SUCCEEDED)
        .values(status=JobStatus.EXPIRED, expires_at=utcnow())
        .returning(Job.id)
    ).first()
    if expired is not None:  # a sweep and a user's delete racing announce the expiry once
        session.refresh(job)
        enqueue_job_event(session, get_settings(), job, EventType.JOB_EXPIRED)
    session.commit()
    session.refresh(job)


def cancel_job(session: Session, storage: Storage, account_id: str, job_id: str) -> Job:
    """Cancel a queued or running job (refunded), and delete every file of the job now."""
    job = get_job(session, account_id, job_id)
    if job.status in JobStatus.ACTIVE:
        end_job(session, job, JobStatus.CANCELED)
    delete_job_files(session, storage, job)
    return job
