"""Retention and deliveries on their own queue: a long upscale must not hold back the sweep (before: 100-173 s
past retention behind one long job, and nothing swept with no CPU worker alive)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests import support
from tests.e2e.test_production_stack import Stack, post_job, sign_up
from tests.hardening.held_input import held_input, input_path

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# Long enough for the one job worker to go from the quick job to the held one before the quick result is due
# (milliseconds apart), so the result is swept while the held job runs.
RESULT_TTL = 5
# Room for a loaded 2-core machine around a 1-s sweep interval; a sweep queued behind the held job would
# not run at all until the job is released.
SWEEP_LATENESS_BOUND = 20.0


def test_results_expire_on_time_while_a_long_job_runs(
    tmp_path, models_dir, postgres_url, redis_url, http_client_factory
):
    stack = Stack(
        tmp_path,
        models_dir,
        postgres_url,
        redis_url,
        result_ttl=str(RESULT_TTL),
        sweep_interval="1",
        signup_credits="100",
    )
    try:
        stack.start_api()
        stack.start("beat", support.mindrender("beat"))  # the scheduler and the maintenance worker
        user = sign_up(stack, http_client_factory, "m@example.com")
        # Both held at their inputs before the only job worker starts: the first it takes is released at once
        # (the quick job), the other then runs, held, for as long as the test keeps it (the long job).
        first = post_job(user, support.png_bytes(16, 16), "bicubic", 2).json()
        second = post_job(user, support.png_bytes(16, 16, seed=1), "bicubic", 2).json()
        storage = tmp_path / "var" / "storage"
        with (
            held_input(input_path(postgres_url, storage, first["id"])) as held_first,
            held_input(input_path(postgres_url, storage, second["id"])) as held_second,
        ):
            stack.start_worker()
            quick, long = _first_running(user, first, second)
            (held_first if quick is first else held_second).release()
            held_long = held_second if quick is first else held_first
            done = support.wait_job(user, quick["id"])
            assert done["status"] == "succeeded"
            running = support.wait_job(user, long["id"], until=("running",))
            expired = support.wait_job(user, quick["id"], timeout=60, until=("expired",))
            due = done["output"]["expires_at"]
            late = time.time() - datetime.fromisoformat(due).timestamp()
            print(f"result deleted {late:.1f} s past its retention (sweep interval 1 s)")
            assert expired["status"] == "expired"
            # Swept while the job ran, not before it started.
            assert datetime.fromisoformat(running["started_at"]) < datetime.fromisoformat(due)
            assert user.get(f"/v1/jobs/{long['id']}").json()["status"] == "running"
            assert late < SWEEP_LATENESS_BOUND, late
            held_long.release()
        assert support.wait_job(user, long["id"])["status"] == "succeeded"
        stack.ledger_matches_balances()
    finally:
        stack.stop()


def _first_running(user, *jobs: dict) -> tuple[dict, dict]:
    """The job the worker took first (it waits at its input), and the other."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for job in jobs:
            if user.get(f"/v1/jobs/{job['id']}").json()["status"] == "running":
                return job, next(other for other in jobs if other is not job)
        time.sleep(0.2)
    raise TimeoutError("the worker took no job")
