"""A job that runs exactly as long as its test wants, on any CPU: its stored input becomes a named pipe.

The worker that claims the job (status `running`, its lease renewed) blocks reading the input until the
test writes the bytes back, through the real API, broker, worker and local storage. A job kept busy by a
slow model would instead end early on a faster CPU (issue 31: x4plus in bf16 on AMX).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def input_path(database_url: str, storage_root: Path, job_id: str) -> Path:
    """Where the local storage keeps a queued job's input."""
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        row = conn.execute("SELECT input_key FROM jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None and row[0], f"job {job_id} has no stored input"
    return storage_root / row[0]


def _write_to_reader(pipe: Path, data: bytes, timeout: float) -> bool:
    """Hand `data` to the process reading `pipe`; False when nobody opened it for reading in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as error:  # ENXIO: no reader yet
            if error.errno != errno.ENXIO or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as writer:
        writer.write(data)
    return True


@contextmanager
def held_input(database_url: str, storage_root: Path, job_id: str) -> Iterator[Callable[[], None]]:
    """Hold a queued job at its input; yields `release`, which gives the input to the worker that waits.

    Call it before any worker can claim the job. On exit an unreleased input is released (or put back when
    no worker reads it), so that no worker is left blocked at shutdown.
    """
    path = input_path(database_url, storage_root, job_id)
    data = path.read_bytes()
    path.unlink()
    os.mkfifo(path)
    released = False

    def release() -> None:
        nonlocal released
        assert _write_to_reader(path, data, timeout=60), f"no worker read job {job_id}'s input"
        released = True

    try:
        yield release
    finally:
        if not released and not _write_to_reader(path, data, timeout=5) and path.exists():
            path.unlink()
            path.write_bytes(data)
