"""Cancelling a running image job stops its worker at the end of the window it is computing (issue 31: the
worker computed one window more, about 24 s of x4plus on 2 cores, before it noticed)."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from models.imaging.bands import band_rows
from tests import support
from tests.e2e.test_production_stack import Stack, post_job, sign_up
from tests.hardening.held_input import held_input, input_path

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# 300x1000 at x4 with bicubic: two bands of output (models/imaging/bands.py), so two progress reports, the
# second one at the end of the job.
WIDTH, HEIGHT, SCALE = 300, 1000, 4


def _lock_waiters(database: str) -> int:
    with psycopg.connect(support.PG_ADMIN_URL, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (database,),
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_for_waiters(database: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while _lock_waiters(database) < count:
        assert time.monotonic() < deadline, f"fewer than {count} sessions wait on the job's row"
        time.sleep(0.05)


def _worker_events(stack: Stack, job_id: str) -> list[dict]:
    events = []
    for log in stack.tmp_path.glob("worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and job_id in line:
                events.append(json.loads(line))
    return events


def test_a_canceled_running_job_stops_at_the_end_of_its_window(
    tmp_path, models_dir, postgres_url, redis_url, http_client_factory
):
    assert band_rows(WIDTH * SCALE, 3) < HEIGHT * SCALE <= 2 * band_rows(WIDTH * SCALE, 3)
    # A long lease: only the progress reports check the job, never the lease's own renewal meanwhile.
    stack = Stack(
        tmp_path, models_dir, postgres_url, redis_url, job_lease_seconds="600", signup_credits="100"
    )
    database = postgres_url.rsplit("/", 1)[1]
    try:
        stack.start_api()
        user = sign_up(stack, http_client_factory, "cancel@example.com")
        job = post_job(user, support.png_bytes(WIDTH, HEIGHT), "bicubic", SCALE).json()
        with held_input(input_path(postgres_url, tmp_path / "var" / "storage", job["id"])) as held:
            stack.start_worker()
            assert support.wait_job(user, job["id"], until=("running",))["status"] == "running"
            # The job's row is locked, so the cancel waits on it first and the worker's first progress report
            # (the end of its first window) second; both go on, in that order, when the lock goes.
            with psycopg.connect(postgres_url.replace("+psycopg", "")) as lock:
                lock.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", (job["id"],))
                canceled: dict = {}
                canceller = threading.Thread(
                    target=lambda: canceled.update(user.delete(f"/v1/jobs/{job['id']}").json())
                )
                canceller.start()
                _wait_for_waiters(database, 1)
                held.release()
                _wait_for_waiters(database, 2)
                lock.rollback()
            canceller.join(timeout=60)
        assert canceled["status"] == "canceled"

        deadline = time.monotonic() + 60
        while not (stopped := [e for e in _worker_events(stack, job["id"]) if "progress" in e]):
            assert time.monotonic() < deadline, _worker_events(stack, job["id"])
            time.sleep(0.2)
        # Stopped after its first window: the second (the last) never ran.
        assert stopped[0]["progress"] < 1.0, stopped

        # The worker is free at once for the next job.
        after = post_job(user, support.png_bytes(16, 16), "bicubic", 2).json()
        assert support.wait_job(user, after["id"])["status"] == "succeeded"
        final = user.get(f"/v1/jobs/{job['id']}").json()
        assert final["status"] == "canceled"
        assert final["credits_refunded"] == final["credits_charged"] == job["credits_charged"]
        assert user.get("/v1/account").json()["credits_balance"] == 100 - after["credits_charged"]
        stack.ledger_matches_balances()  # refunded once, no input or result left behind
    finally:
        stack.stop()
