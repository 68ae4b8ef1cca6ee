"""How much image decoding the API does at once: a semaphore counted in bytes and in decodes.

An upload is decoded once before it is charged (to refuse damaged files up front). A small file can decode
to 25 MP: without a bound, a burst of them takes the API's memory and both cores (measured: 40 at once
added 1.4 GB and stalled every other request for 5 s). A request that cannot get its share within a few
seconds is answered 503 with Retry-After instead of queueing without end.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings
from app.media.errors import DecoderBusy

# Pillow keeps 8-bit pixels in 4-byte slots (RGB, RGBA, CMYK alike); one more byte for decoder buffers.
DECODE_BYTES_PER_PIXEL = 5
WAIT_SECONDS = 3.0


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4 * 2**30


class DecodeBudget:
    """At most `capacity_bytes` of decoded pixels and `slots` decodes in flight in this process."""

    def __init__(self, capacity_bytes: int, slots: int, wait_seconds: float = WAIT_SECONDS) -> None:
        self.capacity_bytes = capacity_bytes
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._used_bytes = 0
        self._used_slots = 0
        self._changed = threading.Condition()

    @classmethod
    def from_settings(cls, settings: Settings) -> DecodeBudget:
        """Sized from settings, or from this machine: an eighth of its memory, a decode per core."""
        memory = settings.decode_memory_mb * 2**20 if settings.decode_memory_mb else _physical_memory() // 8
        slots = settings.decode_concurrency or max(2, os.cpu_count() or 1)
        return cls(memory, slots)

    def _fits(self, cost: int) -> bool:
        return self._used_slots < self.slots and self._used_bytes + cost <= self.capacity_bytes

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        """Reserve room to decode `pixels`; DecoderBusy (503) when none frees up in time."""
        # One image larger than the whole budget still runs, alone.
        cost = min(self.capacity_bytes, pixels * DECODE_BYTES_PER_PIXEL)
        with self._changed:
            if not self._changed.wait_for(lambda: self._fits(cost), timeout=self.wait_seconds):
                raise DecoderBusy()
            self._used_bytes += cost
            self._used_slots += 1
        try:
            yield
        finally:
            with self._changed:
                self._used_bytes -= cost
                self._used_slots -= 1
                self._changed.notify_all()
