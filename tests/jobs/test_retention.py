"""Row retention and sweeps that scale: rows past their retention pruned in batches, the ledger kept whole,
one sweeper at a time on Postgres and no harm from two."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app import db, sweeper
from app.credits.models import LedgerEntry
from app.credits.service import ledger_sum
from app.db import utcnow
from app.jobs.lifecycle import claim_job
from app.jobs.models import Job
from app.jobs.retention import sweep_jobs
from app.sweeper import sweep
from app.webhooks.models import WebhookMessage
from tests.jobs.test_submit import submit
from tests.support import current_runtime, png_bytes


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, configure):
    overrides = {"webhook_allow_private": "true", "signup_credits": "100"}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    return configure(**overrides)


def _age(job_ids: list[str], days: int) -> None:
    """Make jobs (and their messages) look as if they ended `days` ago."""
    past = utcnow() - timedelta(days=days)
    with current_runtime().unit_of_work() as session:
        session.execute(update(Job).where(Job.id.in_(job_ids)).values(finished_at=past, expires_at=past))
        session.execute(update(WebhookMessage).values(finished_at=past, status="succeeded"))


def test_rows_past_their_retention_are_pruned_in_batches_and_the_ledger_stays(database, signup, monkeypatch):
    monkeypatch.setattr(db, "BATCH", 2)  # several batches from a handful of rows
    user = signup()
    user.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook", "events": ["job.failed"]})
    old = [submit(user, png_bytes(8, 8, seed=i)).json()["id"] for i in range(5)]
    recent = submit(user, png_bytes(8, 8, seed=9)).json()["id"]
    for job_id in [*old, recent]:
        user.delete(f"/v1/jobs/{job_id}")  # canceled and refunded: final, files gone
    _age(old, days=91)
    report = sweep(current_runtime())
    assert report.rows_pruned >= len(old)
    with current_runtime().unit_of_work() as session:
        left = set(session.execute(select(Job.id)).scalars())
        entries = session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        account = user.get("/v1/account").json()
        assert ledger_sum(session, account["id"]) == account["credits_balance"] == 100
    assert left == {recent}
    assert entries == 1 + 2 * 6  # the grant, then a hold and a refund per job: nothing of it pruned
    assert user.get(f"/v1/jobs/{old[0]}").status_code == 404
    kinds = [e["kind"] for e in user.get("/v1/account/ledger", params={"limit": 200}).json()["entries"]]
    assert kinds.count("job_refund") == 6


def test_a_second_sweeper_skips_its_pass_while_the_first_holds_the_lock(configure, postgres_url):
    configure(database_url=postgres_url)
    runtime = current_runtime()
    with runtime.engine.connect() as other:
        assert other.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": sweeper._SWEEP_LOCK}).scalar()
        other.commit()
        assert sweep(runtime).skipped
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": sweeper._SWEEP_LOCK})
        other.commit()
    assert not sweep(runtime).skipped


def test_two_sweeps_at_once_refund_each_lost_job_once(database, signup, monkeypatch):
    monkeypatch.setattr(db, "BATCH", 3)
    short_leases = current_runtime().settings.model_copy(update={"job_lease_seconds": 0.1})
    user = signup()
    jobs = [submit(user, png_bytes(8, 8, seed=i)).json()["id"] for i in range(8)]
    with current_runtime().unit_of_work() as session:
        for job_id in jobs:
            claim_job(session, short_leases, job_id)
    time.sleep(0.2)  # every lease lapses: their worker "died"
    # Two sweepers (the lock is per pass; here both pass it in turn or at once: the steps must hold anyway).
    threads = [threading.Thread(target=sweep_jobs, args=(current_runtime(), db.utcnow())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = {job["id"]: job for job in user.get("/v1/jobs", params={"limit": 100}).json()["jobs"]}
    assert all(listed[j]["status"] == "failed" and listed[j]["credits_refunded"] == 1 for j in jobs)
    assert user.get("/v1/account").json()["credits_balance"] == 100
