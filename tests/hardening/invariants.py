"""The invariants every fault scenario must leave intact, checked straight in the database and storage."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, text

ACTIVE = ("queued", "running")


# A worker deletes an ended job's input just after the unit that ended it (app/jobs/processing.py): a client
# can see the job succeed a moment before. The check waits this long for that deletion, however busy the
# machine, before it calls an input that outlives its job a leak.
INPUT_RELEASE_SECONDS = 15.0


def check_invariants(database_url: str, storage_root: Path | None = None) -> None:
    """Balance == ledger sum and never negative; one hold per job; a refund exactly for failed/canceled jobs,
    equal to the hold; no stored object without a live job that owns it."""
    deadline = time.monotonic() + INPUT_RELEASE_SECONDS
    while True:
        try:
            return _check_invariants(database_url, storage_root)
        except InputNotReleased:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class InputNotReleased(AssertionError):
    """An ended job still holds its input."""


def _check_invariants(database_url: str, storage_root: Path | None) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            balances = conn.execute(
                text(
                    "SELECT a.id, a.credits_balance, COALESCE(SUM(l.amount), 0) FROM accounts a "
                    "LEFT JOIN ledger_entries l ON l.account_id = a.id GROUP BY a.id, a.credits_balance"
                )
            ).all()
            jobs = conn.execute(
                text(
                    "SELECT j.id, j.status, j.credits_charged, j.input_key, j.output_key, "
                    "(SELECT COUNT(*) FROM ledger_entries h WHERE h.job_id = j.id AND h.kind = 'job_hold'), "
                    "(SELECT COALESCE(SUM(r.amount), 0) FROM ledger_entries r "
                    " WHERE r.job_id = j.id AND r.kind = 'job_refund'), "
                    "(SELECT COUNT(*) FROM ledger_entries r WHERE r.job_id = j.id AND r.kind = 'job_refund') "
                    "FROM jobs j"
                )
            ).all()
    finally:
        engine.dispose()
    for account_id, balance, total in balances:
        assert balance == total >= 0, f"account {account_id}: balance {balance}, ledger {total}"
    keys: set[str] = set()
    for job_id, status, charged, input_key, output_key, holds, refunded, refunds in jobs:
        assert holds == 1, f"job {job_id} has {holds} holds"
        if status in ("failed", "canceled"):
            assert refunds == 1 and refunded == charged, (
                f"job {job_id} ({status}) refunded {refunded} x{refunds}"
            )
        else:
            assert refunds == 0, f"job {job_id} ({status}) was refunded"
        if input_key:
            if status not in ACTIVE:
                raise InputNotReleased(f"job {job_id} ({status}) still has its input")
            keys.add(input_key)
        if output_key:
            assert status == "succeeded", f"job {job_id} ({status}) still has a result"
            keys.add(output_key)
    if storage_root is not None and storage_root.exists():
        stored = {
            p.relative_to(storage_root).as_posix()
            for p in storage_root.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        }
        orphans = {key for key in stored - keys if key.startswith(("inputs/", "results/"))}
        assert not orphans, f"objects without a live job: {sorted(orphans)[:5]}"
