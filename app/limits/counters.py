"""Fixed-window counters: in process memory (one API process) or in Redis (shared by every API replica)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


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
    """Counters in Redis (INCRBY + EXPIRE in one round trip), shared by all API replicas.

    Timeouts are short: a limiter that waits seconds for a hung Redis adds those seconds to every request.
    """

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        import redis

        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )

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


class FallbackCounters:
    """Shared counters that fall back to this process's own while the shared store fails (a circuit breaker).

    A limiter outage must neither take the API down (every request waiting on a dead Redis) nor switch the
    limits off (free credits farmed, passwords guessed): for `open_seconds` after a failure the counts are
    kept in memory, per process, then the shared store is tried again.
    """

    def __init__(self, shared: Counters, local: Counters, open_seconds: float = 10.0) -> None:
        self.shared = shared
        self.local = local
        self.open_seconds = open_seconds
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._open_until

    def _counters(self) -> Counters:
        return self.local if self.degraded else self.shared

    def _trip(self) -> None:
        with self._lock:
            if not self.degraded:
                log.warning(
                    "rate-limit store unavailable; counting in this process for %.0f s",
                    self.open_seconds,
                    exc_info=True,
                )
            self._open_until = time.monotonic() + self.open_seconds

    def hit(self, key: str, window: int, amount: int = 1) -> Count:
        counters = self._counters()
        try:
            return counters.hit(key, window, amount)
        except Exception:
            if counters is self.local:
                raise
            self._trip()
            return self.local.hit(key, window, amount)

    def peek(self, key: str, window: int) -> Count:
        counters = self._counters()
        try:
            return counters.peek(key, window)
        except Exception:
            if counters is self.local:
                raise
            self._trip()
            return self.local.peek(key, window)


def make_counters(url: str | None) -> Counters:
    """Redis counters behind a breaker when a URL is set, else this process's own."""
    return FallbackCounters(RedisCounters(url), MemoryCounters()) if url else MemoryCounters()
