"""A database with millions of jobs: /metrics, job reads and a sweeper pass, timed on a scratch Postgres.

    .venv/bin/python -m bench.scale [--jobs 10000000] [--accounts 10000]

Creates a fresh database (dropped afterwards), migrates it, and seeds `--jobs` finished jobs spread over
`--accounts` accounts and 120 days, with a hold and (for failed ones) a refund in the ledger for each, and a
webhook message with one attempt for every tenth job, all with SQL `generate_series` (minutes, not hours).
Then it prints, in one run: `GET /metrics` time, `GET /v1/jobs/{id}` and `GET /v1/jobs` p50/p99, one sweeper
pass (which prunes rows past the 90-day retention, in batches), and table and index sizes per million jobs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

# What /metrics computed on every scrape before the counters table (issue #25's 0.8-2.7 s), timed in the same
# run as the reference.
REFERENCE_SCANS = (
    "SELECT status, model, COUNT(*) FROM jobs GROUP BY status, model",
    "SELECT model, SUM(CAST(output_width AS FLOAT) * output_height) FROM jobs"
    " WHERE status IN ('succeeded', 'expired') GROUP BY model",
    "SELECT model, COUNT(*), SUM(EXTRACT(EPOCH FROM finished_at - started_at)) FROM jobs"
    " WHERE finished_at IS NOT NULL AND started_at IS NOT NULL GROUP BY model",
    "SELECT kind, SUM(amount) FROM ledger_entries GROUP BY kind",
    "SELECT event_type, status, COUNT(*) FROM webhook_messages GROUP BY event_type, status",
    "SELECT status_code IS NULL, COUNT(*) FROM webhook_attempts GROUP BY 1",
)

PG_ADMIN = os.environ.get("MR_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")

SEED = """
INSERT INTO accounts (id, email, password_hash, plan, credits_balance, created_at)
SELECT 'acct-' || a, 'user' || a || '@example.com', 'x', 'free', 0, now()
FROM generate_series(1, %(accounts)s) a;

INSERT INTO jobs (id, account_id, status, model, scale, conservative, queue, input_width, input_height,
                  input_format, input_bytes, output_width, output_height, output_format, output_quality,
                  metadata_mode, credits_charged, credits_refunded, progress, attempts, created_at,
                  started_at, finished_at, expires_at)
SELECT 'job-' || j, 'acct-' || (1 + j %% %(accounts)s),
       CASE WHEN j %% 10 = 0 THEN 'failed' ELSE 'expired' END,
       (ARRAY['bicubic', 'realesrgan-x4plus', 'realcugan-se', 'waifu2x-photo'])[1 + j %% 4], 2, false, 'gpu',
       640, 480, 'png', 100000, 1280, 960, 'png', 92, 'default', 1,
       CASE WHEN j %% 10 = 0 THEN 1 ELSE 0 END, 1.0, 1,
       t, t + interval '1 second', t + interval '5 seconds', t + interval '1 day'
FROM (SELECT j, now() - (j %% 120) * interval '1 day' - (j %% 86400) * interval '1 second' AS t
      FROM generate_series(1, %(jobs)s) j) seeded;

INSERT INTO ledger_entries (account_id, amount, balance_after, kind, job_id, created_at)
SELECT account_id, -1, 0, 'job_hold', id, created_at FROM jobs;
INSERT INTO ledger_entries (account_id, amount, balance_after, kind, job_id, created_at)
SELECT account_id, 1, 0, 'job_refund', id, finished_at FROM jobs WHERE status = 'failed';

INSERT INTO webhook_messages (id, account_id, url, event_type, payload, status, attempts, max_attempts,
                              next_attempt_at, created_at, finished_at)
SELECT 'msg-' || id, account_id, 'https://example.com/hook', 'job.failed', '{}', 'succeeded', 1, 10,
       finished_at, finished_at, finished_at
FROM jobs WHERE status = 'failed';
INSERT INTO webhook_attempts (message_id, attempt, started_at, status_code, duration_ms)
SELECT id, 1, created_at, 200, 40 FROM webhook_messages;
ANALYZE;
"""


def _times(call: Callable[[], object], repeat: int) -> list[float]:
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        found.append((time.perf_counter() - started) * 1000)
    return found


def _p(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * share))]


def _sizes(url: str) -> list[tuple[str, int, int]]:
    with psycopg.connect(url) as conn:
        return list(
            conn.execute(
                "SELECT relname, pg_table_size(oid), pg_indexes_size(oid) FROM pg_class "
                "WHERE relname IN ('jobs', 'ledger_entries', 'webhook_messages', 'webhook_attempts', "
                "'metric_totals') ORDER BY relname"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    name = f"mr_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        run(url, args.jobs, args.accounts)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, jobs: int, accounts: int) -> None:
    from app.config import Settings
    from app.main import create_app
    from app.migrate import upgrade_database
    from app.sweeper import sweep

    data_dir = Path(tempfile.mkdtemp(prefix="mr-scale-"))
    settings = Settings(
        data_dir=data_dir,
        database_url=url.replace("postgresql://", "postgresql+psycopg://"),
        rate_limit_per_ip=0,
        rate_limit_per_account=0,
    )
    upgrade_database(settings.resolved_database_url)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; PostgreSQL local")
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute(SEED % {"jobs": jobs, "accounts": accounts})
    print(f"seeded {jobs:,} jobs over {accounts:,} accounts in {time.perf_counter() - started:.0f} s")
    per_million = 1e6 / jobs
    for table, data, index in _sizes(url):
        table_mib, index_mib = data * per_million / 2**20, index * per_million / 2**20
        print(f"  {table:18} table {table_mib:7.1f} MiB per million jobs, indexes {index_mib:7.1f}")
    app = create_app(settings)
    with TestClient(app) as client:
        key = client.post(
            "/v1/accounts", json={"email": "reader@example.com", "password": "correct horse"}
        ).json()
        with psycopg.connect(url) as conn:
            account = conn.execute("SELECT id FROM accounts WHERE email = 'reader@example.com'").fetchone()
            assert account is not None
            conn.execute(
                "UPDATE jobs SET account_id = %s WHERE id IN (SELECT id FROM jobs LIMIT 500)", account
            )
        client.headers["Authorization"] = f"Bearer {key['api_key']}"
        some = [job["id"] for job in client.get("/v1/jobs", params={"limit": 100}).json()["jobs"]]
        cold = _times(lambda: client.get("/metrics"), 1)[0]
        metrics = _times(lambda: client.get("/metrics"), 30)
        reads = [t for path in (f"/v1/jobs/{i}" for i in some) for t in _times(partial(client.get, path), 2)]
        lists = _times(lambda: client.get("/v1/jobs", params={"limit": 50}), 50)
    metrics_p50, metrics_p99 = statistics.median(metrics), _p(metrics, 0.99)
    print(
        f"GET /metrics          p50 {metrics_p50:7.1f} ms  p99 {metrics_p99:7.1f} ms  (cold: {cold:.0f} ms)"
    )
    read_p50, read_p99 = statistics.median(reads), _p(reads, 0.99)
    print(f"GET /v1/jobs/{{id}}     p50 {read_p50:7.1f} ms  p99 {read_p99:7.1f} ms")
    print(f"GET /v1/jobs (50)     p50 {statistics.median(lists):7.1f} ms  p99 {_p(lists, 0.99):7.1f} ms")
    with psycopg.connect(url) as conn:
        scans = _times(lambda: [conn.execute(query).fetchall() for query in REFERENCE_SCANS], 3)
    print(f"reference: /metrics's former aggregates (full scans), median {statistics.median(scans):.0f} ms")
    from app.runtime import Runtime

    runtime = Runtime.start(settings)
    started = time.perf_counter()
    report = sweep(runtime)
    seconds = time.perf_counter() - started
    print(f"sweeper pass: {seconds:.1f} s, pruned {report.rows_pruned:,} rows past 90 days (batches of 200)")
    runtime.close()


if __name__ == "__main__":
    main()
