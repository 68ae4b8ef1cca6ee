"""A zip of several results, written as it is sent: one chunk of one result in memory at a time, whatever
the results' sizes and count."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from app.storage import Storage


@dataclass(frozen=True)
class ArchiveEntry:
    """One result in the zip: its entry name, its storage key and the time it shows (when the job ended)."""

    name: str
    key: str
    modified: datetime | None


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


def still_stored(storage: Storage, keys: list[str]) -> list[bool]:
    """Whether each result is still in storage: one whose retention ended (or that the bucket's lifecycle
    rule took) can be gone while its job still says succeeded, until the sweep records it."""
    return [storage.exists(key) for key in keys]


def _entry_info(entry: ArchiveEntry, size: int) -> zipfile.ZipInfo:
    # A zip stores local time without a zone: the UTC time is shown, the same for every reader.
    moment = (entry.modified or datetime.now(UTC)).astimezone(UTC)
    info = zipfile.ZipInfo(entry.name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size  # decides whether the entry needs ZIP64 (over 4 GiB) before it is written
    return info


def zip_stream(storage: Storage, entries: list[ArchiveEntry]) -> Iterator[bytes]:
    """Zip the entries, stored uncompressed (PNG, JPEG, WebP, MP4 and WebM are compressed already); an
    object deleted meanwhile (its retention ended) is left out."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            try:
                size = storage.stat(entry.key).size
                chunks = storage.read_chunks(entry.key)
                first = next(chunks, b"")  # opened before the entry starts: a vanished object is skipped
            except (FileNotFoundError, ValueError):
                continue
            with archive.open(_entry_info(entry, size), "w") as member:
                member.write(first)
                del first
                yield sink.take()
                for chunk in chunks:
                    member.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
