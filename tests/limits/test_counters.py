"""The rate-limit counters: windows, shared counts in Redis, and the breaker that falls back to memory."""

from __future__ import annotations

import time
import uuid

import pytest

from app.limits.counters import FallbackCounters, MemoryCounters, RedisCounters
from tests import support


def test_memory_counters_count_per_key_and_take_back():
    counters = MemoryCounters()
    assert [counters.hit("a", 60).hits for _ in range(3)] == [1, 2, 3]
    assert counters.hit("b", 60).hits == 1
    assert counters.hit("a", 60, -1).hits == 2
    assert counters.peek("a", 60).hits == 2
    assert 1 <= counters.peek("a", 60).resets_in <= 60


def test_redis_counters_are_shared_between_processes(redis_url):
    key = f"test:{uuid.uuid4().hex}"
    one, two = RedisCounters(redis_url), RedisCounters(redis_url)
    one.hit(key, 60)
    assert two.hit(key, 60).hits == 2
    assert one.peek(key, 60).hits == 2


def test_the_breaker_counts_in_memory_while_redis_is_down_then_goes_back(redis_url):
    key = f"test:{uuid.uuid4().hex}"
    dead = RedisCounters(f"redis://127.0.0.1:{support.free_port()}/0")
    counters = FallbackCounters(dead, MemoryCounters(), open_seconds=0.3)
    assert counters.hit(key, 60).hits == 1 and counters.degraded
    assert counters.hit(key, 60).hits == 2  # in memory, without trying the dead store again
    time.sleep(0.35)
    counters.shared = RedisCounters(redis_url)  # the store is back
    assert counters.hit(key, 60).hits == 1 and not counters.degraded


def test_the_breaker_does_not_hide_a_failure_of_its_own_memory():
    class Broken(MemoryCounters):
        def hit(self, key: str, window: int, amount: int = 1):
            raise RuntimeError("memory counters failed")

    counters = FallbackCounters(Broken(), Broken())
    with pytest.raises(RuntimeError):
        counters.hit("k", 60)
