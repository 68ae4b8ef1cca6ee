"""Object storage chosen by MR_STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.config import Settings
from app.storage.base import Storage
from app.storage.local import LocalStorage

__all__ = ["Storage", "make_storage"]


def make_storage(settings: Settings) -> Storage:
    """The backend for a storage URL: `file:///path` or `s3://bucket/prefix`."""
    url = urlsplit(settings.resolved_storage_url)
    if url.scheme == "file":
        return LocalStorage(Path(unquote(url.path)))
    if url.scheme == "s3":
        from app.storage.s3 import S3Storage

        public = settings.resolved_s3_public_endpoint_url
        return S3Storage(url.netloc, url.path, settings.s3_endpoint_url, public)
    raise ValueError(f"unsupported MR_STORAGE_URL scheme {url.scheme!r} (supported: file://, s3://)")
