"""A job that runs exactly as long as its test wants, on any CPU: its stored input becomes a named pipe.

The worker that claims the job (status `running`, its lease renewed) blocks reading the input until the
test writes the bytes back, through the real API, broker, worker and local storage. A job kept busy by a
slow model would instead end early on a faster CPU (issue 31: x4plus in bf16 on AMX).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def input_path(database_url: str, storage_root: Path, job_id: str) -> Path:
    """Where the local storage keeps a queued job's input."""
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        row = conn.execute("SELECT input_key FROM jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None and row[0], f"job {job_id} has no stored input"
    return storage_root / row[0]


def _open_for_reader(pipe: Path, timeout: float) -> int | None:
    """A blocking write end of `pipe` once a process reads it; None when nobody opened it in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:  # ENXIO: no reader yet
            if error.errno != errno.ENXIO or time.monotonic() > deadline:
                return None
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        return fd


class HeldInput:
    """A job's input as a named pipe: `connect` once its worker waits on it, then `release` the bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        self._fd: int | None = None
        self.released = False
        path.unlink()
        os.mkfifo(path)

    def connect(self, timeout: float = 120) -> None:
        """Wait until the worker opens the input; from then on it waits on the bytes alone (the file's name
        may go, as a cancel deletes it)."""
        if self._fd is None:
            self._fd = _open_for_reader(self.path, timeout)
            assert self._fd is not None, f"no worker opened {self.path.name}"

    def release(self) -> None:
        """Give the worker the input's bytes: the job runs on from there."""
        self.connect()
        assert self._fd is not None
        with os.fdopen(self._fd, "wb") as writer:
            writer.write(self.data)
        self.released = True

    def let_go(self) -> None:
        """Release an input still held, or put the file back when no worker reads it."""
        if self.released:
            return
        if self._fd is None:
            self._fd = _open_for_reader(self.path, timeout=5)
        if self._fd is not None:
            self.release()
        elif self.path.exists():
            self.path.unlink()
            self.path.write_bytes(self.data)


@contextmanager
def held_input(path: Path) -> Iterator[HeldInput]:
    """Hold a queued job at its stored input (`path`); call it before any worker can claim the job. On exit
    an input still held is let go, so that no worker is left blocked at shutdown."""
    held = HeldInput(path)
    try:
        yield held
    finally:
        held.let_go()
