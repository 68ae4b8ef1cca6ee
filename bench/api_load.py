"""API load: concurrent clients submitting jobs and polling their status, against uvicorn on Postgres + Redis.

    python bench/api_load.py [--clients 16] [--seconds 15] [--api-workers 2]
    python bench/api_load.py --baseline aa094b9 [--pairs 3] [--seconds 10]

Starts `mindrender api` on a fresh Postgres database (dropped afterwards) with Redis as the broker and for
the rate-limit counters, signs up one account per client, then runs two phases of `--seconds` each:
submissions (`POST /v1/jobs`, a 32x32 PNG, model `bicubic`, x2) and status reads (`GET /v1/jobs/{id}`).
No worker runs: jobs stay queued, so the API, the database and the queue are measured, not a model.
Prints requests/s and p50/p99 latency per endpoint, and the error count. Rate limits are raised for the run
(one machine's clients all share an address) and printed.

With `--baseline REV`, the revision is checked out into a temporary git worktree and the API of each tree
(the baseline's, then this checkout's) is measured in turn by this same client, `--pairs` times,
alternating which goes first; each pair and the median ratios (this checkout over the baseline) are
printed, with the load average at each pair. On a shared machine absolute rates move with the load, so
only ratios within a pair compare: a ratio under 1.0 is a regression.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psycopg
from PIL import Image

PG_ADMIN = os.environ.get("MR_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("MR_BENCH_REDIS", "redis://127.0.0.1:6379/13")
HERE = Path(__file__).resolve().parents[1]
SUBMIT, READ = "POST /v1/jobs", "GET /v1/jobs/{id}"
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


def _report(name: str, samples: Samples, seconds: float) -> float:
    """Print one endpoint's figures; returns its successful requests per second."""
    done = samples.latencies
    if not done:
        print(f"{name:28} no successful requests; errors {samples.errors}")
        return 0.0
    print(
        f"{name:28} {len(done) / seconds:8.1f} req/s   p50 {_percentile(done, 50) * 1000:6.1f} ms"
        f"   p99 {_percentile(done, 99) * 1000:6.1f} ms   n={len(done)}"
        f"   errors {sum(samples.errors.values())}" + (f" {samples.errors}" if samples.errors else "")
    )
    return len(done) / seconds


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


async def _run(base_url: str, n_clients: int, seconds: float) -> dict[str, float]:
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
    rates = {SUBMIT: _report(SUBMIT, submit, elapsed)}

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
    rates[READ] = _report(READ, status, elapsed)
    for client in [*clients, anonymous]:
        await client.aclose()
    return rates


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


def measure(args: argparse.Namespace, tree: Path = HERE, models_dir: Path | None = None) -> dict[str, float]:
    """One run against the API of the code in `tree` (this checkout unless told): requests/s per endpoint."""
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
    if models_dir is not None:
        env["MR_MODELS_DIR"] = str(models_dir)  # weights installed by the tree's first run, kept for the next
    if tree != HERE:
        env["PYTHONPATH"] = str(tree)
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
    api = subprocess.Popen(command, env=env, cwd=tree)
    url = f"http://127.0.0.1:{args.port}"
    try:
        _wait_ready(url, api)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; API: {args.api_workers} uvicorn process(es) on Postgres + Redis; "
            f"{args.clients} clients in this process, {args.seconds:.0f} s per phase; limits raised: {LIMITS}"
        )
        return asyncio.run(_run(url, args.clients, args.seconds))
    finally:
        api.terminate()
        api.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """`revision` in a temporary detached git worktree of this repository, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="mr-bench-baseline-"))
    tree = folder / "tree"
    subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(tree), revision], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _head() -> str:
    found = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"], capture_output=True)
    return found.stdout.decode().strip() or "this checkout"


def compare(args: argparse.Namespace) -> None:
    """Interleaved pairs, baseline and this checkout, and the median ratio per endpoint."""
    ratios: dict[str, list[float]] = {SUBMIT: [], READ: []}
    lines = []
    with checked_out(args.baseline) as baseline, tempfile.TemporaryDirectory(prefix="mr-bench-models-") as m:
        trees = {"baseline": (baseline, Path(m) / "baseline"), "current": (HERE, Path(m) / "current")}
        for pair in range(args.pairs):
            # Alternate which goes first, so a load that rises or falls during a pair favours neither.
            order = ("baseline", "current") if pair % 2 == 0 else ("current", "baseline")
            rates = {}
            for name in order:
                print(f"-- pair {pair + 1}/{args.pairs}: {name}", flush=True)
                tree, models = trees[name]
                rates[name] = measure(args, tree, models)
            load = " ".join(f"{value:.1f}" for value in os.getloadavg())
            cells = []
            for endpoint in (SUBMIT, READ):
                base, now = rates["baseline"][endpoint], rates["current"][endpoint]
                ratio = now / base if base else float("nan")
                ratios[endpoint].append(ratio)
                cells.append(f"{endpoint} {base:6.1f} -> {now:6.1f}/s ({ratio:.2f}x)")
            lines.append(f"pair {pair + 1} (load {load}): " + ";  ".join(cells))
            print(lines[-1], flush=True)
    print(f"\nbaseline {args.baseline}, current {_head()}; {os.cpu_count()} cores; pairs:")
    print("\n".join(lines))
    for endpoint, found in ratios.items():
        print(f"{endpoint:28} median ratio {statistics.median(found):.2f}x over {len(found)} pairs")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--baseline", help="A git revision to compare against, in interleaved pairs.")
    parser.add_argument("--pairs", type=int, default=3, help="With --baseline: how many pairs.")
    args = parser.parse_args()
    if args.baseline:
        compare(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
