"""Direct uploads: the client sends a large file straight to the bucket, then names it in POST /v1/jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import new_id
from app.config import Settings
from app.db import utcnow
from app.jobs import errors
from app.jobs.file_names import clean_upload_name
from app.jobs.models import Upload
from app.storage import Storage


@dataclass(frozen=True)
class UploadTicket:
    upload: Upload
    url: str
    fields: dict[str, str]


def create_upload(
    session: Session, storage: Storage, settings: Settings, account_id: str, filename: str | None = None
) -> UploadTicket:
    """Open an upload slot with a size-limited presigned POST valid for `result_url_ttl` seconds; the file's
    name, if the client gives it, is kept for the job that claims the slot."""
    upload_id = new_id()
    upload = Upload(
        id=upload_id,
        account_id=account_id,
        key=f"uploads/{upload_id}",
        filename=clean_upload_name(filename),
        expires_at=utcnow() + timedelta(seconds=settings.result_url_ttl),
    )
    post = storage.presigned_post(upload.key, settings.max_upload_bytes, settings.result_url_ttl)
    if post is None:
        raise errors.DirectUploadUnavailable()
    session.add(upload)
    session.flush()
    return UploadTicket(upload=upload, url=post[0], fields=post[1])


def read_upload(
    session: Session, storage: Storage, settings: Settings, account_id: str, upload_id: str
) -> bytes:
    """The bytes of an open upload slot of this account; the slot stays open until a job claims it.

    A refused request (bad parameters, too few credits) leaves the upload in place, so the client can retry
    until the slot expires; the sweeper deletes what is never claimed.
    """
    upload = session.execute(
        select(Upload).where(
            Upload.id == upload_id,
            Upload.account_id == account_id,
            Upload.consumed_at.is_(None),
            Upload.expires_at > utcnow(),
        )
    ).scalar_one_or_none()
    if upload is None:
        raise errors.UploadNotFound()
    try:
        data = storage.get(upload.key)
    except FileNotFoundError:
        raise errors.UploadNotFound("Nothing was uploaded for this upload id.") from None
    if len(data) > settings.max_upload_bytes:
        raise errors.FileTooLarge(f"The file is larger than {settings.max_upload_bytes:,} bytes.")
    return data


@dataclass(frozen=True)
class ClaimedUpload:
    key: str
    filename: str | None


def claim_upload(session: Session, account_id: str, upload_id: str) -> ClaimedUpload:
    """Mark an upload used by the job being created (same transaction); returns its storage key and the
    file's name given when the slot was opened."""
    claimed = session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.account_id == account_id, Upload.consumed_at.is_(None))
        .values(consumed_at=utcnow())
        .returning(Upload.key, Upload.filename)
    ).one_or_none()
    if claimed is None:  # another request claimed it between our read and now
        raise errors.UploadNotFound("This upload was already used by another job.")
    return ClaimedUpload(key=claimed.key, filename=claimed.filename)
