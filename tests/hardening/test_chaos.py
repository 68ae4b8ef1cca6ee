"""Fault scenarios on the real Postgres and Redis, each followed by the full invariant check.

(Killing workers mid-job is in tests/e2e/test_production_stack.py, also marked `chaos`.)
"""

from __future__ import annotations

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from tests import support
from tests.e2e.test_production_stack import Stack, post_job, sign_up
from tests.hardening.invariants import check_invariants
from tests.webhooks.receiver import running_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            import redis

            redis.Redis(port=port).ping()
            return process
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def own_redis():
    """A Redis server of this test alone, so it can be killed and restarted."""
    port = support.free_port()
    holder = {"process": _start_redis(port)}
    yield port, holder
    holder["process"].kill()
    holder["process"].wait()


def test_restarting_redis_under_load_loses_no_job(
    tmp_path, models_dir, postgres_url, own_redis, http_client_factory
):
    port, holder = own_redis
    stack = Stack(
        tmp_path, models_dir, postgres_url, f"redis://127.0.0.1:{port}/0",
        sweep_interval="1", queue_redispatch_seconds="2", job_lease_seconds="5", signup_credits="100",
    )  # fmt: skip
    try:
        stack.start_api()
        stack.start_worker()
        stack.start("beat", support.mindrender("beat"))
        user = sign_up(stack, http_client_factory, "redis-restart@example.com")
        ids: list[str] = []

        def submit_for(seconds: float) -> None:
            """A job every 0.1 s or slower: at most 60 of the 100 credits, so a fast API never runs out."""
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                response = post_job(user, support.png_bytes(24, 24), "bicubic", 2)
                assert response.status_code == 202, response.text
                ids.append(response.json()["id"])
                time.sleep(0.1)

        load = threading.Thread(target=submit_for, args=(6.0,))
        load.start()
        time.sleep(1.5)
        holder["process"].kill()  # Redis dies with everything queued in it (it keeps nothing on disk)
        holder["process"].wait()
        time.sleep(2.0)
        holder["process"] = _start_redis(port)
        load.join()

        assert len(ids) >= 5
        for job_id in ids:
            assert support.wait_job(user, job_id, timeout=120)["status"] == "succeeded", job_id
        check_invariants(postgres_url, tmp_path / "var" / "storage")
    finally:
        stack.stop()


def _eventually_ok(user: httpx.Client, path: str, seconds: float = 10.0) -> bool:
    """Whether GET `path` answers 200 within `seconds` (a 503 meanwhile is a clean error, retried)."""
    deadline = time.monotonic() + seconds
    while True:
        status = user.get(path).status_code
        if status == 200 or status != 503 or time.monotonic() > deadline:
            return status == 200
        time.sleep(0.2)


def test_dropped_database_connections_give_clean_errors_and_no_half_state(
    tmp_path, models_dir, postgres_url, http_client_factory
):
    stack = Stack(tmp_path, models_dir, postgres_url, "filesystem://", signup_credits="1000")
    stack.env["MR_BROKER_URL"] = "filesystem://"
    database = postgres_url.rsplit("/", 1)[1]
    try:
        stack.start_api()
        user = sign_up(stack, http_client_factory, "db-drop@example.com")
        stop = threading.Event()

        def kill_connections() -> None:
            with psycopg.connect(support.PG_ADMIN_URL, autocommit=True) as admin:
                while not stop.is_set():
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (database,),
                    )
                    time.sleep(0.15)

        def one(i: int) -> tuple[int, str | None]:
            client = httpx.Client(base_url=stack.url, headers=user.headers, timeout=30)
            try:
                if i % 2:
                    response = post_job(client, support.png_bytes(16, 16, seed=i), "bicubic", 2)
                    job_id = response.json().get("id") if response.status_code == 202 else None
                else:
                    response = client.get("/v1/account")
                    job_id = None
                if response.status_code >= 500:
                    assert response.status_code == 503, response.text
                    assert response.json()["error"]["code"] == "service_unavailable"
                    assert response.headers["retry-after"]
                return response.status_code, job_id
            finally:
                client.close()

        killer = threading.Thread(target=kill_connections)
        killer.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                outcomes = list(pool.map(one, range(160)))
        finally:
            stop.set()
            killer.join()

        statuses = [status for status, _ in outcomes]
        assert set(statuses) <= {200, 202, 503}, statuses
        assert 503 in statuses, "the storm never hit a request: the test proved nothing"
        accepted = [job_id for _, job_id in outcomes if job_id]
        assert accepted, "no submission got through"
        # A termination sent at the storm's end lands a moment later (the backend exits on the signal): the
        # service answers again once the last one has, however busy the machine.
        support.wait_http(f"{stack.url}/readyz", timeout=30)
        for job_id in accepted:
            assert _eventually_ok(user, f"/v1/jobs/{job_id}"), job_id
        check_invariants(postgres_url, tmp_path / "var" / "storage")
    finally:
        stack.stop()


def test_a_webhook_receiver_that_was_down_gets_the_event_when_it_returns(
    tmp_path, models_dir, postgres_url, redis_url, http_client_factory
):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    port = support.free_port()
    stack = Stack(
        tmp_path, models_dir, postgres_url, redis_url,
        webhook_allow_private="true", webhook_retry_schedule="0,1,1,1,1,1,1,1,1,1", sweep_interval="1",
        webhook_poll_interval="1",
    )  # fmt: skip
    try:
        stack.start_api()
        stack.start_worker()
        stack.start("beat", support.mindrender("beat"))
        user = sign_up(stack, http_client_factory, "hook-down@example.com")
        with running_receiver(port) as receiver:
            url = receiver.url
        # The receiver is down now: connections to it are refused.
        endpoint = user.post("/v1/webhook-endpoints", json={"url": url, "events": ["job.succeeded"]}).json()
        job = post_job(user, support.png_bytes(20, 20), "bicubic", 2).json()
        assert support.wait_job(user, job["id"])["status"] == "succeeded"
        deliveries = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and user.get(deliveries).json()[0]["attempts"] < 2:
            time.sleep(0.2)
        with running_receiver(port, receiver) as back:
            received = back.wait_for(1, timeout=60)[0]
            payload = Webhook(endpoint["secret"]).verify(received.body, received.headers)
            assert payload["data"]["id"] == job["id"]
        delivery = support.wait_delivery(user, endpoint["id"])
        assert delivery["status"] == "succeeded"
        errors = [a["error"] for a in delivery["attempt_log"][:-1]]
        assert errors and all(e.startswith("connection_error") for e in errors)
        check_invariants(postgres_url, tmp_path / "var" / "storage")
    finally:
        stack.stop()
        redis.Redis.from_url(redis_url).flushdb()
