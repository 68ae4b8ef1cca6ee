"""A zip of several results, written as it is sent: one result in memory at a time, whatever the count."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from app.storage import Storage


class _Chunks:
    """A write-only file whose bytes are handed on as they come (zipfile writes a streamed zip into it)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def zip_stream(storage: Storage, entries: list[tuple[str, str]]) -> Iterator[bytes]:
    """Zip (name, storage key) pairs, stored uncompressed (PNG, JPEG and WebP are compressed already);
    an object deleted meanwhile (its retention ended) is left out."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, key in entries:
            try:
                data = storage.get(key)
            except FileNotFoundError:
                continue
            archive.writestr(name, data)
            del data
            yield sink.take()
    yield sink.take()
