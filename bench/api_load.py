"""API load: concurrent clients submitting jobs and polling their status, against uvicorn on Postgres + Redis.

    python bench/api_load.py [--clients 16] [--seconds 15] [--api-workers 2]

Starts `mindrender api` on a fresh Postgres database (dropped afterwards) with Redis as the broker and for
the rate-limit counters, signs up one account per client, then runs two phases of `--seconds` each:
submissions (`POST /v1/jobs`, a 32x32 PNG, model `bicubic`, x2) and status reads (`GET /v1/jobs/{id}`).
No worker runs: jobs stay queued, so the API, the database and the queue are measured, not a model.
Prints requests/s and p50/p99 latency per endpoint, and the error count. Rate limits are raised for the run
(one machine's clients all share an address) and printed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psycopg
from PIL import Image

PG_ADMIN = os.environ.get("MR_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("MR_BENCH_REDIS", "redis://127.0.0.1:6379/13")
LIMITS = {
    "rate_limit_per_ip": "0",
    "rate_limit_per_account": "0",
    "job_submissions_per_minute": "0",
    "signups_per_ip_per_hour": "0",
    "signup_credit_grants_per_ip_per_day": "100000",
}


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, seconds: float, status: int, expected: int) -> None:
        if status == expected:
            self.latencies.append(seconds)
        else:
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1


def _png() -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _report(name: str, samples: Samples, seconds: float) -> None:
    done = samples.latencies
    if not done:
        print(f"{name:28} no successful requests; errors {samples.errors}")
        return
    print(
        f"{name:28} {len(done) / seconds:8.1f} req/s   p50 {_percentile(done, 50) * 1000:6.1f} ms"
        f"   p99 {_percentile(done, 99) * 1000:6.1f} ms   n={len(done)}"
        f"   errors {sum(samples.errors.values())}" + (f" {samples.errors}" if samples.errors else "")
    )


async def _phase(
    clients: list[httpx.AsyncClient],
    seconds: float,
    step: Callable[[int, httpx.AsyncClient], Awaitable[None]],
) -> float:
    deadline = time.perf_counter() + seconds

    async def loop(index: int, client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            await step(index, client)

    started = time.perf_counter()
    await asyncio.gather(*(loop(i, c) for i, c in enumerate(clients)))
    return time.perf_counter() - started


async def _run(base_url: str, n_clients: int, seconds: float) -> None:
    limits = httpx.Limits(max_connections=n_clients * 2)
    anonymous = httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits)
    keys = []
    for i in range(n_clients):
        created = await anonymous.post(
            "/v1/accounts", json={"email": f"load{i}@example.com", "password": "correct horse"}
        )
        created.raise_for_status()
        keys.append(created.json()["api_key"])
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {k}"})
        for k in keys
    ]
    image = _png()
    jobs: list[list[str]] = [[] for _ in clients]
    submit = Samples()

    async def submit_one(index: int, client: httpx.AsyncClient) -> None:
        started = time.perf_counter()
        response = await client.post(
            "/v1/jobs",
            files={"file": ("load.png", image, "image/png")},
            data={"model": "bicubic", "scale": "2"},
        )
        submit.add(time.perf_counter() - started, response.status_code, 202)
        if response.status_code == 202:
            jobs[index].append(response.json()["id"])

    elapsed = await _phase(clients, seconds, submit_one)
    _report("POST /v1/jobs", submit, elapsed)

    status = Samples()
    cursor = [0] * len(clients)

    async def read_one(index: int, client: httpx.AsyncClient) -> None:
        mine = jobs[index]
        job_id = mine[cursor[index] % len(mine)]
        cursor[index] += 1
        started = time.perf_counter()
        response = await client.get(f"/v1/jobs/{job_id}")
        status.add(time.perf_counter() - started, response.status_code, 200)

    elapsed = await _phase(clients, seconds, read_one)
    _report("GET /v1/jobs/{id}", status, elapsed)
    for client in [*clients, anonymous]:
        await client.aclose()


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit("the API process exited; see its log above")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    database = f"mr_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    data_dir = Path(tempfile.mkdtemp(prefix="mr-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MR_")}
    env.update(
        MR_DATABASE_URL=PG_ADMIN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
        + f"/{database}",
        MR_BROKER_URL=REDIS,
        MR_RATE_LIMIT_URL=REDIS,
        MR_DATA_DIR=str(data_dir),
        MR_SIGNUP_CREDITS="1000000",
        MR_SECRET_KEY="bench",
        MR_LOG_LEVEL="WARNING",
        **{f"MR_{k.upper()}": v for k, v in LIMITS.items()},
    )
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "api",
        "--port",
        str(args.port),
        "--workers",
        str(args.api_workers),
    ]
    api = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{args.port}"
    try:
        _wait_ready(url, api)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; API: {args.api_workers} uvicorn process(es) on Postgres + Redis; "
            f"{args.clients} clients in this process, {args.seconds:.0f} s per phase; limits raised: {LIMITS}"
        )
        asyncio.run(_run(url, args.clients, args.seconds))
    finally:
        api.terminate()
        api.wait(timeout=30)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
