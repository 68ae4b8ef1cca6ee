"""Test helpers: real servers (Postgres, Redis), service processes, and small image factories."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from app.runtime import Runtime

_runtime: Runtime | None = None


def use_runtime(runtime: Runtime | None) -> None:
    """Set the runtime of the settings the test configured last (tests/conftest.py does)."""
    global _runtime
    _runtime = runtime


def current_runtime() -> Runtime:
    """The runtime of the test's settings: its database sessions, storage and catalog, as a worker has."""
    assert _runtime is not None, "configure the service first (the `settings` or `configure` fixture)"
    return _runtime


PG_ADMIN_URL = os.environ.get("MR_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# Under pytest-xdist each worker (gw0, gw1, ...) has a Redis database of its own, counting down from 15: a
# test flushes its database, and one worker's broker queues must not feed another's workers.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_REDIS_DB = 15 - int(XDIST_WORKER.removeprefix("gw") or 0)
REDIS_URL = os.environ.get("MR_TEST_REDIS", f"redis://127.0.0.1:6379/{_REDIS_DB}")
ROOT = Path(__file__).resolve().parent.parent


def png_bytes(width: int = 64, height: int = 48, mode: str = "RGB", seed: int = 0) -> bytes:
    """A PNG with random content (so models have texture to work on)."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}[mode]
    array = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    image = Image.fromarray(array[:, :, 0] if channels == 1 else array)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def require_server(name: str, reachable: bool) -> None:
    """Integration tests use the real servers: required in CI, skipped with a reason elsewhere."""
    if reachable:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI but is not reachable")
    pytest.skip(f"{name} is not reachable on this machine")


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database for one test module; dropped afterwards."""
    import psycopg

    name = f"mr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MR_")}
    env.update({f"MR_{k.upper()}": v for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_process(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """A service process in its own process group (so a test can kill -9 all of it). It is also told to stop
    when the test's process dies: a test that pytest-timeout ends skips its `finally`, and a service left
    running (converting weights, polling its broker) would slow every later test and hold its port."""
    from app.cli import _die_with_parent

    log = log_path.open("wb")
    return subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
    )


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# A service on a fresh data folder converts the official weights before it answers: about 20 s alone, over
# 60 s on a loaded 2-core machine (CI's may be slower still). Only a service that never starts waits this
# long, and it must give up before pytest-timeout (300 s) ends the test, so the test's `finally` stops it
# and the failure shows the service's log.
STARTUP_SECONDS = 240.0


def wait_http(
    url: str,
    timeout: float = STARTUP_SECONDS,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Wait until `url` answers 200. With the `process` that serves it: fail as soon as it exits (a service
    that cannot start, say it cannot import, fails its test at once, not after the whole timeout), showing
    the end of its `log`."""

    def tail() -> str:
        return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {process.returncode}:\n{tail()}")
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s:\n{tail()}")


def mindrender(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def worker_args(queues: str = "gpu,cpu", concurrency: int = 1) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
        "--queues", queues, "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-heartbeat",
        "--without-gossip", "--without-mingle", "-n", f"w{uuid.uuid4().hex[:6]}@%h",
    ]  # fmt: skip


def wait_job(client: httpx.Client, job_id: str, timeout: float = 120.0, until: tuple[str, ...] = ()) -> dict:
    """Poll a job until it reaches a final state (or one of `until`)."""
    final = until or ("succeeded", "failed", "canceled", "expired")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in final:
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not finish: {job}")


def wait_delivery(client: httpx.Client, endpoint_id: str, timeout: float = 30.0) -> dict:
    """Poll an endpoint's one delivery until it is settled (succeeded or failed). A receiver sees the request
    before the worker has its answer and commits the attempt, so a test that reads the log as soon as the
    receiver returns races the worker's commit (a loaded machine makes that gap wide)."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries").json()
        if len(deliveries) == 1 and deliveries[0]["status"] in ("succeeded", "failed"):
            return dict(deliveries[0])
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the delivery was not settled within {timeout} s: {deliveries}")
        time.sleep(0.2)


def json_log_lines(log: Path) -> list[dict]:
    """A service log's JSON lines (its access and job lines), skipping anything else it printed."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def new_account(http_client_factory, base_url: str, email: str) -> str:
    """Sign up over HTTP; the new account's API key."""
    form = {"email": email, "password": "correct horse"}
    return str(http_client_factory(base_url).post("/v1/accounts", json=form).json()["api_key"])


def queued_task_args(settings) -> list[list[str]]:
    """The arguments of the task messages waiting in the embedded (filesystem) broker, oldest first."""
    import ast
    import json

    folder = settings.broker_folder / "queue"
    messages = sorted(folder.glob("*.msg"), key=lambda path: path.stat().st_mtime_ns)
    return [ast.literal_eval(json.loads(path.read_text())["headers"]["argsrepr"]) for path in messages]


def one_window(*windows: int, needed: float = 10.0) -> None:
    """Wait for fresh fixed windows (app/limits/counters.py starts them on the clock) when fewer than `needed`
    seconds are left in any: a test that counts to a limit must not straddle a window's end, where every
    count starts again."""
    left = min(window - time.time() % window for window in windows)
    if left < needed:
        time.sleep(left + 0.5)
