"""Fixed-window counters: in process memory (one API process) or in Redis (shared by every API replica)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Count:
    """Hits so far in the current window, and seconds until the window ends."""

    hits: int
    resets_in: int


class Counters(Protocol):
    def hit(self, key: str, window: int, amount: int = 1) -> Count:
        """Add `amount` to the key's counter for the current window of `window` seconds."""

    def peek(self, key: str, window: int) -> Count:
        """The key's counter without adding to it."""


def _window(window: int) -> tuple[int, int]:
    now = int(time.time())
    start = now - now % window
    return start, start + window - now


class MemoryCounters:
    """Counters of one process: right for `mindrender serve` and a single API process."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int, amount: int = 1) -> Count:
        start, resets_in = _window(window)
        with self._lock:
            if len(self._counts) > 100_000:
                self._forget_old()
            hits = self._counts.get((key, start), 0) + amount
            self._counts[(key, start)] = hits
        return Count(hits, resets_in)

    def peek(self, key: str, window: int) -> Count:
        start, resets_in = _window(window)
        with self._lock:
            return Count(self._counts.get((key, start), 0), resets_in)

    def _forget_old(self) -> None:
        now = int(time.time())
        # Keys carry their window start; anything older than a day is over for every window in use.
        self._counts = {k: v for k, v in self._counts.items() if k[1] > now - 86400}


class RedisCounters:
    """Counters in Redis (INCRBY + EXPIRE in one round trip), shared by all API replicas."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, key: str, window: int, amount: int = 1) -> Count:
        start, resets_in = _window(window)
        name = f"mr:rl:{key}:{start}"
        pipe = self._redis.pipeline()
        pipe.incrby(name, amount)
        pipe.expire(name, window + 5)
        hits, _ = pipe.execute()
        return Count(int(hits), resets_in)

    def peek(self, key: str, window: int) -> Count:
        start, resets_in = _window(window)
        value = self._redis.get(f"mr:rl:{key}:{start}")
        return Count(int(value or 0), resets_in)


def make_counters(url: str | None) -> Counters:
    return RedisCounters(url) if url else MemoryCounters()
