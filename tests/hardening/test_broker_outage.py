"""A hung broker (Redis stopped with SIGSTOP) under a burst of submissions, on the real Postgres and Redis.

Before: every request thread waited on the frozen broker, probes timed out behind them, and each submission
the client had given up on was charged once Redis came back.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests import support
from tests.e2e.test_production_stack import Stack, post_job, sign_up
from tests.hardening.invariants import check_invariants
from tests.hardening.test_chaos import own_redis  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]
SUBMISSIONS = 45
# A probe that waited on the frozen broker would wait out its 5-s socket timeout (app/broker/factory.py), and
# one behind a request thread that waits on it, longer. Below that, room for a loaded 2-core machine: a probe
# took 1.04 s there, with 45 submissions and the test's own threads on the same cores.
PROBE_BOUND = 3.0


def _job_ids(postgres_url: str) -> set[str]:
    with psycopg.connect(postgres_url.replace("+psycopg", "")) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM jobs")}


def test_a_frozen_broker_neither_stalls_the_api_nor_charges_unanswered_submissions(
    tmp_path,
    models_dir,
    postgres_url,
    own_redis,  # noqa: F811
    http_client_factory,
):
    port, holder = own_redis
    redis_url = f"redis://127.0.0.1:{port}"
    stack = Stack(
        tmp_path, models_dir, postgres_url, f"{redis_url}/0",
        rate_limit_url=f"{redis_url}/1", signup_credits="100", sweep_interval="1",
    )  # fmt: skip
    try:
        stack.start_api()
        user = sign_up(stack, http_client_factory, "frozen@example.com")
        os.kill(holder["process"].pid, signal.SIGSTOP)
        probes: list[float] = []
        done = threading.Event()

        def probe() -> None:
            while not done.is_set():
                started = time.monotonic()
                try:
                    httpx.get(f"{stack.url}/healthz", timeout=2 * PROBE_BOUND).raise_for_status()
                    probes.append(time.monotonic() - started)
                except httpx.HTTPError:
                    probes.append(float("inf"))
                time.sleep(0.2)

        def submit(i: int) -> str | None:
            client = httpx.Client(base_url=stack.url, headers=user.headers, timeout=10)
            try:
                response = post_job(client, support.png_bytes(16, 16, seed=i), "bicubic", 2)
            except httpx.TimeoutException:
                return None
            finally:
                client.close()
            return str(response.json()["id"]) if response.status_code == 202 else None

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
                answered = [job_id for job_id in pool.map(submit, range(SUBMISSIONS)) if job_id]
            time.sleep(2)
        finally:
            done.set()
            prober.join()
            os.kill(holder["process"].pid, signal.SIGCONT)

        assert probes
        print(f"/healthz with the broker frozen: {len(probes)} probes, slowest {max(probes):.2f} s")
        assert max(probes) < PROBE_BOUND, probes
        assert len(answered) == SUBMISSIONS  # nothing waits on the frozen broker
        assert _job_ids(postgres_url) == set(answered)  # and nothing exists that was not answered 202
        balance = user.get("/v1/account").json()["credits_balance"]
        assert balance == 100 - SUBMISSIONS  # one credit each

        # Nothing was lost either: the sweeper sends what the frozen broker could not take.
        stack.start_worker()
        stack.start("beat", support.mindrender("beat"))
        for job_id in answered:
            assert support.wait_job(user, job_id, timeout=120)["status"] == "succeeded", job_id
        check_invariants(postgres_url, tmp_path / "var" / "storage")
    finally:
        stack.stop()
