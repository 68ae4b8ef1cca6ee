"""The production shape over real HTTP: API, Celery workers and beat on the real Postgres and Redis.

Covers the concurrency guarantee of the ledger and what happens when a worker is killed with SIGKILL.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from tests import support
from tests.hardening.held_input import HeldInput, held_input, input_path
from tests.hardening.invariants import check_invariants

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]


class Stack:
    """Service processes sharing one Postgres database, one Redis and one storage folder."""

    def __init__(
        self, tmp_path: Path, models_dir: Path, database_url: str, redis_url: str, **settings: str
    ) -> None:
        """`models_dir`: the run's installed weights (the `models_dir` fixture), so that no process of the
        stack converts them again on its fresh data folder."""
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.port = support.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = support.service_env(
            data_dir=str(tmp_path / "var"), models_dir=str(models_dir), database_url=database_url,
            broker_url=redis_url, **settings,
        )  # fmt: skip
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        process = support.start_process(args, self.env, self.tmp_path / f"{name}-{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def start_api(self) -> None:
        api = self.start("api", support.mindrender("api", "--port", str(self.port)))
        support.wait_http(
            f"{self.url}/healthz", process=api, log=self.tmp_path / f"api-{len(self.processes) - 1}.log"
        )

    def start_worker(self) -> subprocess.Popen[bytes]:
        return self.start("worker", support.worker_args())

    def stop(self) -> None:
        for process in self.processes:
            support.stop_process(process)
        for log in sorted(self.tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-2500:]}")

    def ledger_matches_balances(self) -> None:
        """Every invariant of the ledger, the jobs and the storage (tests/hardening/invariants.py)."""
        check_invariants(self.database_url, self.tmp_path / "var" / "storage")


@pytest.fixture
def stack(tmp_path, models_dir, postgres_url, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    stack = Stack(
        tmp_path,
        models_dir,
        postgres_url,
        redis_url,
        job_lease_seconds="3",
        sweep_interval="1",
        signup_credits="10",
    )
    try:
        yield stack
    finally:
        stack.stop()
        redis.Redis.from_url(redis_url).flushdb()


def sign_up(stack: Stack, http_client_factory, email: str):
    return http_client_factory(stack.url, support.new_account(http_client_factory, stack.url, email))


def post_job(user, data: bytes, model: str, scale: int):
    files = {"file": ("in.png", data, "image/png")}
    return user.post("/v1/jobs", files=files, data={"model": model, "scale": str(scale)})


def test_upload_runs_on_a_celery_worker_over_postgres_and_redis(stack, http_client_factory):
    stack.start_api()
    stack.start_worker()
    user = sign_up(stack, http_client_factory, "pg@example.com")
    job = post_job(user, support.png_bytes(64, 48), "srcnn", 2).json()
    done = support.wait_job(user, job["id"])
    assert done["status"] == "succeeded", done
    image = Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content))
    assert image.size == (128, 96)
    assert user.get("/v1/account").json()["credits_balance"] == 10 - done["credits_charged"]
    stack.ledger_matches_balances()


def test_24_parallel_submissions_accept_exactly_what_the_balance_affords(stack, http_client_factory):
    stack.start_api()  # no worker: nothing is refunded or finished while we count
    user = sign_up(stack, http_client_factory, "race@example.com")
    data = support.png_bytes(32, 32)

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda _: post_job(user, data, "bicubic", 2).status_code, range(24)))

    assert statuses.count(202) == 10  # signup grants 10 credits; each job costs 1
    assert statuses.count(402) == 14
    assert user.get("/v1/account").json()["credits_balance"] == 0
    assert len(user.get("/v1/jobs", params={"limit": 100}).json()["jobs"]) == 10
    stack.ledger_matches_balances()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@contextmanager
def _held_job(stack: Stack, user) -> Iterator[tuple[dict, HeldInput]]:
    """A queued job held at its input: the worker that takes it runs it until the test releases it (any CPU;
    a job made long by a slow model ends early on a fast one)."""
    job = post_job(user, support.png_bytes(64, 48, seed=7), "srcnn", 2).json()
    with held_input(input_path(stack.database_url, stack.tmp_path / "var" / "storage", job["id"])) as held:
        yield job, held


def _wait_running(user, job: dict) -> None:
    running = support.wait_job(user, job["id"], timeout=120, until=("running", "succeeded", "failed"))
    assert running["status"] == "running", running


def _wait_attempt(stack: Stack, job: dict, attempt: int) -> None:
    deadline = time.monotonic() + 120
    with psycopg.connect(stack.database_url.replace("+psycopg", ""), autocommit=True) as conn:
        while conn.execute("SELECT attempts FROM jobs WHERE id = %s", (job["id"],)).fetchone() != (attempt,):
            assert time.monotonic() < deadline, f"attempt {attempt} never started"
            time.sleep(0.2)


def test_a_killed_worker_process_is_replaced_and_the_job_completes(stack, http_client_factory):
    stack.start_api()
    user = sign_up(stack, http_client_factory, "kill-child@example.com")
    with _held_job(stack, user) as (job, held):
        worker = stack.start_worker()
        _wait_running(user, job)
        for child in _children(worker.pid):
            os.kill(child, signal.SIGKILL)  # the pool process running the job dies mid-job
        # Released to the next attempt: bytes written while the killed process still held the pipe would
        # go down with it.
        _wait_attempt(stack, job, 2)
        held.release()

    done = support.wait_job(user, job["id"], timeout=180)
    assert done["status"] == "succeeded", done
    assert done["credits_refunded"] == 0
    stack.ledger_matches_balances()


def test_a_worker_killed_outright_fails_the_job_with_one_refund(stack, http_client_factory):
    stack.start_api()
    stack.start("beat", support.mindrender("beat"))
    user = sign_up(stack, http_client_factory, "kill-all@example.com")
    with _held_job(stack, user) as (job, _):
        worker = stack.start_worker()
        _wait_running(user, job)
        stack.start_worker()  # another machine's worker, which runs the sweeps from now on
        os.killpg(worker.pid, signal.SIGKILL)  # the first worker's machine is gone

        failed = support.wait_job(user, job["id"], timeout=60)
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "worker_lost"
    assert failed["credits_refunded"] == failed["credits_charged"]
    assert user.get("/v1/account").json()["credits_balance"] == 10
    time.sleep(2)  # further sweeps must not refund again
    stack.ledger_matches_balances()
