"""Metric totals on the real Postgres: concurrent units of work add to one counter without waiting."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.totals import service as totals
from tests.support import current_runtime

pytestmark = pytest.mark.integration


def test_concurrent_units_add_to_one_counter_without_waiting_for_each_others_commit(configure, postgres_url):
    # Every accepted submission adds to credits_charged in its own unit of work. With one row per counter,
    # the second unit waited on the first's row lock until it committed: all submissions in the service
    # queued behind each other's commits. The lock timeout turns such a wait into an error, not a slow pass.
    configure(database_url=postgres_url)
    runtime = current_runtime()
    with runtime.unit_of_work() as first, runtime.unit_of_work() as second:
        totals.add(first, "credits_charged", 3)
        second.execute(text("SET LOCAL lock_timeout = '5s'"))
        totals.add(second, "credits_charged", 4)
    with runtime.unit_of_work() as session:
        totals.add(session, "credits_charged", 5)
        totals.add(session, "jobs_finished", 1, status="succeeded", model="bicubic")
    with runtime.unit_of_work() as session:
        read = totals.read_totals(session)
    assert sorted((name, sorted(labels.items()), value) for name, labels, value in read) == [
        ("credits_charged", [], 12.0),
        ("jobs_finished", [("model", "bicubic"), ("status", "succeeded")], 1.0),
    ]
