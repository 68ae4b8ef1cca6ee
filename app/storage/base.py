"""The object-storage interface every backend implements (local disk now, S3 through the same calls)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Downloads and archives move objects in pieces of this size: a 1 GB video is 4,000 reads, so the per-chunk
# cost (a syscall, a hop through the event loop) is negligible, while 100 concurrent downloads hold 25 MiB.
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What a download needs to know before it sends a byte: the size, and a validator for If-Range."""

    size: int
    etag: str  # quoted, as in an ETag header: '"..."'


class Storage(Protocol):
    """Stores job inputs and results under opaque keys such as `inputs/<job id>`."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write an object whole (atomically: a reader sees all of it or nothing)."""

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Write an object from a file, streamed (a video result may not fit in memory); atomic too."""

    def get(self, key: str) -> bytes:
        """Read an object; FileNotFoundError when it does not exist."""

    def stat(self, key: str) -> ObjectInfo:
        """An object's size and entity tag; FileNotFoundError when it does not exist."""

    def read_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes start..end (half-open; end None: to the end) in chunks of at most CHUNK_BYTES, so a
        video result is never held whole. FileNotFoundError (at the first chunk) when it does not exist."""

    def delete(self, key: str) -> None:
        """Delete an object; deleting a missing object is not an error."""

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under a prefix (used by the sweeper and by tests of retention)."""

    def presigned_url(self, key: str, expires_in: int, filename: str, content_type: str) -> str | None:
        """A short-lived direct download URL, or None where the API serves the object itself."""

    def presigned_post(self, key: str, max_bytes: int, expires_in: int) -> tuple[str, dict[str, str]] | None:
        """A browser-style POST (url, fields) storing at most max_bytes at key; None if unsupported."""

    def ping(self) -> None:
        """Raise unless the backend is reachable and usable (readiness probe)."""

    def ensure_lifecycle(self, days: int) -> None:
        """Ask the backend to delete objects older than `days` on its own (a no-op where unsupported)."""
