"""The object-storage interface every backend implements (local disk now, S3 through the same calls)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    """Stores job inputs and results under opaque keys such as `inputs/<job id>`."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write an object whole (atomically: a reader sees all of it or nothing)."""

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Write an object from a file, streamed (a video result may not fit in memory); atomic too."""

    def get(self, key: str) -> bytes:
        """Read an object; FileNotFoundError when it does not exist."""

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
