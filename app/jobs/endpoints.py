"""Routes for upscale jobs: submit, read, list, download, cancel."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session

from app.accounts.auth import CurrentAccount
from app.broker.publish import send_at_commit
from app.db import read_without_transaction
from app.estimates.service import Speed, model_speed
from app.jobs import checks, lifecycle, service
from app.jobs.archive import ArchiveEntry, still_stored, zip_stream
from app.jobs.errors import FileOrUploadRequired, FileTooLarge, InvalidArchive, ResultNotReady
from app.jobs.eta import eta_seconds
from app.jobs.file_names import distinct_names, requested_name, result_name
from app.jobs.models import Job, JobStatus
from app.jobs.representation import represent_job, represent_quote
from app.jobs.retention import delete_job_files
from app.jobs.schemas import JobOut, JobPage, JobQuote, OutputFormat, UploadIn, UploadOut
from app.jobs.uploads import create_upload, read_upload
from app.limits.policy import limits_of
from app.media.image_codec import OUTPUT_FORMATS
from app.media.metadata import MetadataMode
from app.media.video_probe import VIDEO_OUTPUT_FORMATS
from app.runtime import DbSession, Runtime, RuntimeDep
from app.storage.signed_urls import SignedObject, sign, signing_key

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request"},
    401: {"description": "Missing or invalid credentials"},
    402: {"description": "Not enough credits (`insufficient_credits`)"},
    404: {"description": "No such job"},
    409: {"description": "Conflict"},
    413: {"description": "Upload too large"},
    415: {"description": "Not a supported image or video"},
    422: {"description": "Invalid parameters, image or video"},
    429: {"description": "Too many requests (`rate_limited`, with Retry-After)"},
}


class RecentSpeeds:
    """Model speeds for the ETAs of this process's answers, each read at most once a `kept_seconds`.

    An active job's ETA needs its model's speed, two queries, and a client polls its job's status over and
    over (bench/api_load.py: two round trips in seven of a status read). The figures behind it move far
    slower: workers report every 30 s and count as live for 2 minutes, a measured speed changes once a job
    ends. Only the ETAs use these; whether a job is accepted (job_too_slow) reads the speed afresh.
    """

    def __init__(self, kept_seconds: float = 1.0) -> None:
        self.kept_seconds = kept_seconds
        self._read: dict[tuple[str, str], tuple[float, Speed]] = {}

    def of(self, session: Session, queue: str, model: str) -> Speed:
        now = time.monotonic()
        found = self._read.get((queue, model))
        if found is not None and now - found[0] < self.kept_seconds:
            return found[1]
        speed = model_speed(session, queue, model)
        self._read[queue, model] = (now, speed)  # a few keys: queues times models
        return speed


def job_out(job: Job, request: Request, session: Session, ahead: float | None = None) -> JobOut:
    """The public representation of a job, with links on this request's host and, while it is active, the
    seconds until it should end (`ahead`: the work ahead of it, where it was read with the job)."""
    eta = None
    if job.status in JobStatus.ACTIVE:
        speeds: RecentSpeeds = request.app.state.recent_speeds
        eta = eta_seconds(session, job, speeds.of(session, job.queue, job.model), ahead)
    return represent_job(job, str(request.base_url), eta)


def job_request_form(
    scale: Annotated[int, Form(description="2, 3, 4 or 8; 1 (clean-up only) for models with 1x weights.")],
    model: Annotated[str | None, Form(description="A model id from GET /v1/models.")] = None,
    preset: Annotated[
        str | None,
        Form(
            description="Instead of `model` (not with it): auto (read from the image), photo, anime, text "
            "or faithful."
        ),
    ] = None,
    denoise: Annotated[
        int | None,
        Form(
            ge=0,
            le=3,
            description="With `model`: noise and JPEG-artefact removal, 0 (light) to 3, where the model has "
            "it. With a preset (auto included): the damage to clean up, 0 light, 1 medium, 2 and 3 heavy, "
            "and the preset picks the model and level for it (auto still reads the content, not the damage).",
        ),
    ] = None,
    detail: Annotated[
        int | None,
        Form(
            ge=0,
            le=100,
            description="With a preset (auto on a photo included): 0 the most faithful result, 100 the most "
            "detailed (real texture from a detail model that invents no letters or faces), mixed in "
            "between; the price follows what runs. Default: the preset's own (photo 70). Not with `model`.",
        ),
    ] = None,
    conservative: Annotated[
        bool,
        Form(
            description="With `model`: its conservative variant, which invents less (Real-CUGAN). A preset "
            "picks its own variant: with one, 422 `unsupported_option`."
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat | None,
        Form(
            description="Images: png, jpeg or webp (default: the input's format). Videos: mp4 (H.264) or "
            "webm (VP9); default webm for a WebM, else mp4."
        ),
    ] = None,
    output_quality: Annotated[
        int,
        Form(
            ge=1,
            le=100,
            description="JPEG/WebP quality; for a video, the encoder's CRF (92: x264 18, VP9 31).",
        ),
    ] = 92,
    metadata: Annotated[
        MetadataMode, Form(description="default: keep ICC + camera EXIF, drop GPS; all; none.")
    ] = "default",
    webhook_url: Annotated[str | None, Form(max_length=2000)] = None,
) -> checks.JobRequest:
    """The job's parameters from the multipart form."""
    return checks.JobRequest(
        model=model,
        preset=preset,
        scale=scale,
        denoise=denoise,
        conservative=conservative,
        detail=detail,
        output_format=output_format,
        output_quality=output_quality,
        metadata=metadata,
        webhook_url=webhook_url,
    )


UploadedFile = Annotated[
    UploadFile | None,
    File(
        description="The image (PNG, JPEG, WebP, GIF, BMP or TIFF) or video (MP4, MOV or WebM with "
        "H.264, H.265, VP8, VP9 or AV1), recognised by its content."
    ),
]
UploadId = Annotated[str | None, Form(description="Instead of `file`: an id from POST /v1/uploads.")]

# RFC 7240's wait is delta-seconds: whole digits, up to the next preference (`,`) or parameter (`;`).
_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)\s*(?:[,;]|$)", re.IGNORECASE)
MAX_WAIT_SECONDS = 60


def _wait_seconds(prefer: str | None) -> int:
    """`Prefer: wait=N` (RFC 7240), at most a minute; 0 when absent or invalid (`wait=1.5`, `wait=x`).

    A longer N is clamped to the minute without converting it, so that thousands of digits (past Python's
    int limit) are a minute too, not an error.
    """
    found = _WAIT.search(prefer or "")
    if found is None:
        return 0
    digits = found.group(1).lstrip("0") or "0"
    return MAX_WAIT_SECONDS if len(digits) > 2 else min(int(digits), MAX_WAIT_SECONDS)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    summary="Submit an image or a video to upscale",
    responses={**_ERRORS, 200: {"description": "With `Prefer: wait`: the job ended within the wait"}},
)
async def create_job(
    request: Request,
    account: CurrentAccount,
    session: DbSession,
    runtime: RuntimeDep,
    job_request: Annotated[checks.JobRequest, Depends(job_request_form)],
    file: UploadedFile = None,
    upload_id: UploadId = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
    prefer: Annotated[
        str | None,
        Header(
            description="`wait=N`: answer when the job ends or after N seconds. N is whole seconds, "
            "a larger N counts as 60; anything else (`wait=1.5`) is ignored, as RFC 7240 asks."
        ),
    ] = None,
) -> JSONResponse:
    limits_of(request).job_submission(account.id)
    if (file is None) == (upload_id is None):
        raise FileOrUploadRequired()
    wait = _wait_seconds(prefer)

    def submit() -> tuple[service.Submission, dict[str, Any] | None]:
        submission = service.submit_or_replay(
            session, runtime, request.app.state.decode_budget, account.id, job_request,
            lambda: _read_input(runtime, session, account.id, file, upload_id), upload_id=upload_id,
            filename=file.filename if file is not None else None, idempotency_key=idempotency_key,
        )  # fmt: skip
        answer = partial(job_out, submission.job, request, session, submission.ahead)
        return submission, _commit(session, None if wait else answer)

    submission, body = await run_in_threadpool(submit)
    job = submission.job
    if wait:
        job = await service.wait_for_end(runtime, job.id, wait)
        body = await run_in_threadpool(lambda: job_out(job, request, session).model_dump(mode="json"))
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else {}
    if wait:
        headers["Preference-Applied"] = f"wait={wait}"
    ended = job.status not in JobStatus.ACTIVE
    return JSONResponse(body, status_code=200 if wait and ended else 202, headers=headers)


@router.post(
    "/quote",
    response_model=JobQuote,
    summary="Price, time and result size of an upload, checked as a submission is; nothing charged or kept",
    responses={k: v for k, v in _ERRORS.items() if k != 409},
)
async def quote_job(
    request: Request,
    account: CurrentAccount,
    session: DbSession,
    runtime: RuntimeDep,
    job_request: Annotated[checks.JobRequest, Depends(job_request_form)],
    file: UploadedFile = None,
    upload_id: UploadId = None,
) -> JobQuote:
    """The same form as POST /v1/jobs, through the same checks (a damaged file, an unknown model or an
    output over the limits is refused with the same error); the answer says what that submission would
    run and charge, and whether the balance pays for it. A price over the balance is not an error here,
    but such an upload is priced from its header only (its content is checked once the balance covers
    it); `preset=auto` must read the image to pick, so it answers 402 when the balance cannot pay even
    the cheapest model it could pick."""
    limits_of(request).job_quote(account.id)
    if (file is None) == (upload_id is None):
        raise FileOrUploadRequired()

    def price() -> JobQuote:
        data = _read_input(runtime, session, account.id, file, upload_id)
        budget = request.app.state.decode_budget
        return represent_quote(checks.price_upload(session, runtime, budget, account.id, job_request, data))

    return await run_in_threadpool(price)


def _commit(session: Session, answer: Callable[[], JobOut] | None) -> dict[str, Any] | None:
    """Commit the submission in this thread, and give the response's body, read in the same unit before the
    commit (None without `answer`: the caller waits on the job, which is then committed and sent now, not
    after the response).

    Committed here, not by the request's teardown: from the reservation on, the unit holds the lock on the
    account's balance row, and the teardown first waits for a free thread, which a burst of submissions for
    one account could all be holding while they wait for that lock (a deadlock until the pool's 30-s
    timeout; tests/hardening/test_broker_outage.py). The answer read before the commit saves a unit of its
    own after it (a connection and a commit again, for one read: the ETA's jobs ahead).
    """
    if answer is None:
        with send_at_commit():
            session.commit()
        return None
    body = answer().model_dump(mode="json")
    session.commit()
    return body


def _read_input(
    runtime: Runtime, session: Session, account_id: str, file: UploadFile | None, upload_id: str | None
) -> bytes:
    """The uploaded file's bytes, or the direct upload's (one of the two is given)."""
    settings = runtime.settings
    if file is None:
        assert upload_id is not None
        return read_upload(session, runtime.storage, settings, account_id, upload_id)
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise FileTooLarge(f"The file is larger than {settings.max_upload_bytes:,} bytes.")
    return data


def _result_name(job: Job) -> str:
    return result_name(job.filename, job.id, job.scale, job.output_format)


@router.get("", response_model=JobPage, summary="Your jobs, newest first")
def list_jobs(
    request: Request, account: CurrentAccount, session: DbSession, limit: int = 20, cursor: str | None = None
) -> JobPage:
    jobs, next_cursor = service.list_jobs(session, account.id, max(1, min(limit, 100)), cursor)
    return JobPage(jobs=[job_out(job, request, session) for job in jobs], next_cursor=next_cursor)


MAX_ARCHIVE_JOBS = 100


@router.get(
    "/archive",
    summary="Download finished results as one zip, streamed (jobs without a result are left out)",
    description="The jobs named in `ids`, or with `all=true` your newest 100 results, in one zip written "
    "as it is sent. Each entry is named after its upload (`photo_x4.png`; the job id when the upload had no "
    "name); names that would clash, ignoring case, get ` (2)`, ` (3)`, .... Jobs without a result and "
    "results no longer stored (their retention ended) are left out; with none left, 409 "
    "`result_not_available`.",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "A zip of the results"},
        409: _ERRORS[409],
        422: _ERRORS[422],
    },
)
def get_archive(
    account: CurrentAccount,
    session: DbSession,
    runtime: RuntimeDep,
    ids: Annotated[
        str | None, Query(max_length=4000, description="Comma-separated job ids (at most 100).")
    ] = None,
    all_results: Annotated[
        bool, Query(alias="all", description="Instead of `ids`: your newest 100 jobs that have a result.")
    ] = False,
) -> StreamingResponse:
    if all_results == (ids is not None):
        raise InvalidArchive("Give either `ids` or `all=true`.")
    if ids is None:
        jobs = service.latest_results(session, account.id, MAX_ARCHIVE_JOBS)
    else:
        wanted = list(dict.fromkeys(part.strip() for part in ids.split(",") if part.strip()))
        if not wanted or len(wanted) > MAX_ARCHIVE_JOBS:
            raise InvalidArchive(f"Give 1 to {MAX_ARCHIVE_JOBS} job ids.")
        jobs = service.finished_jobs(session, account.id, wanted)
    if not jobs:
        raise ResultNotReady("None of these jobs has a result to download.")
    # Checked before the answer starts: once the zip is under way, a 200 is all it can say. Those gone are
    # left out before naming, so what remains is named as if it were alone.
    stored = still_stored(runtime.storage, [job.output_key or "" for job in jobs])
    jobs = [job for job, kept in zip(jobs, stored, strict=True) if kept]
    if not jobs:
        raise ResultNotReady(
            "None of these jobs' results is stored any more: their retention ended or they were deleted."
        )
    names = distinct_names(_result_name(job) for job in jobs)
    entries = [
        ArchiveEntry(name, job.output_key or "", job.finished_at)
        for name, job in zip(names, jobs, strict=True)
    ]
    return StreamingResponse(
        zip_stream(runtime.storage, entries),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="mindrender-results.zip"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/{job_id}", response_model=JobOut, summary="A job's status and result", responses={404: _ERRORS[404]}
)
def get_job(job_id: str, request: Request, account: CurrentAccount, session: DbSession) -> JobOut:
    read_without_transaction(session)  # the job with its ETA's sum (and its model's speed once a second)
    job, ahead = service.get_job_and_ahead(session, account.id, job_id)
    return job_out(job, request, session, ahead)


@router.get(
    "/{job_id}/result",
    summary="Download the upscaled image or video (redirects to a short-lived signed link)",
    description="Answers 307 to a link that downloads the result as an attachment named after the upload "
    "(`photo.jpg` at 4x into PNG: `photo_x4.png`), or as `filename` asks; it serves byte ranges, so a "
    "video can be played and seeked from it.",
    response_class=Response,
    responses={
        307: {"description": "Redirect to a short-lived signed download URL"},
        404: _ERRORS[404],
        409: _ERRORS[409],
    },
)
def get_job_result(
    job_id: str,
    request: Request,
    account: CurrentAccount,
    session: DbSession,
    runtime: RuntimeDep,
    filename: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="Name to save as, e.g. `sunset` (the extension added; cut to 200 characters).",
        ),
    ] = None,
) -> Response:
    job = service.get_job(session, account.id, job_id)
    if job.status != JobStatus.SUCCEEDED or job.output_key is None:
        raise ResultNotReady()
    storage, settings = runtime.storage, runtime.settings
    media_type = {**OUTPUT_FORMATS, **VIDEO_OUTPUT_FORMATS}[job.output_format]
    filename = (filename and requested_name(filename, job.output_format)) or _result_name(job)
    url = storage.presigned_url(job.output_key, settings.result_url_ttl, filename, media_type)
    if url is None:  # local disk: a link signed the same way, served by GET /v1/files/{token}
        expires = int(time.time()) + settings.result_url_ttl
        token = sign(signing_key(settings), SignedObject(job.output_key, filename, media_type, expires))
        url = str(request.url_for("download_file", token=token))
    return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)


@router.delete(
    "/{job_id}",
    response_model=JobOut,
    summary="Cancel a queued or running job (refunded) and delete its files now",
    responses={404: _ERRORS[404]},
)
def delete_job(job_id: str, request: Request, account: CurrentAccount, runtime: RuntimeDep) -> JobOut:
    # Three steps, each its own unit of work: the cancel (and refund) is committed before any file goes,
    # so a worker finishing meanwhile finds its job canceled and drops its result.
    with runtime.unit_of_work() as session:
        lifecycle.cancel_job(session, runtime.settings, account.id, job_id)
    delete_job_files(runtime, job_id)
    with runtime.unit_of_work() as session:
        return job_out(service.forget_file_name(session, account.id, job_id), request, session)


uploads_router = APIRouter(prefix="/v1/uploads", tags=["jobs"])


@uploads_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    summary="Upload a large file straight to storage (S3 only)",
    responses={409: _ERRORS[409]},
)
def create_direct_upload(
    account: CurrentAccount, session: DbSession, runtime: RuntimeDep, body: UploadIn | None = None
) -> UploadOut:
    settings = runtime.settings
    filename = body.filename if body is not None else None
    ticket = create_upload(session, runtime.storage, settings, account.id, filename)
    return UploadOut(
        id=ticket.upload.id,
        url=ticket.url,
        fields=ticket.fields,
        max_bytes=settings.max_upload_bytes,
        expires_at=ticket.upload.expires_at,
    )
