"""Local-disk storage: the embedded default and single-machine deployments."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from app.storage.base import CHUNK_BYTES, ObjectInfo


class LocalStorage:
    """Objects as files under a root folder; keys map to relative paths."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"invalid storage key {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def stat(self, key: str) -> ObjectInfo:
        found = self._path(key).stat()
        return ObjectInfo(found.st_size, f'"{found.st_size:x}-{found.st_mtime_ns:x}"')

    def read_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        # Objects are replaced by rename, never rewritten: an open handle reads one version to its end.
        with self._path(key).open("rb") as handle:
            handle.seek(start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                chunk = handle.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def presigned_url(self, key: str, expires_in: int, filename: str, content_type: str) -> str | None:
        return None  # served through the authenticated API route

    def presigned_post(self, key: str, max_bytes: int, expires_in: int) -> tuple[str, dict[str, str]] | None:
        return None  # files reach local storage through POST /v1/jobs

    def ping(self) -> None:
        if not (self.root.is_dir() and os.access(self.root, os.W_OK)):
            raise OSError(f"storage folder {self.root} is not writable")

    def ensure_lifecycle(self, days: int) -> None:
        return None  # the sweeper alone deletes local files
