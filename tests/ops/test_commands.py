"""Operator commands on the database: credits grant, accounts list, jobs list and cancel."""

from __future__ import annotations

import subprocess

from tests import support
from tests.jobs.test_submit import submit


def _operator(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = support.service_env(data_dir=str(settings.data_dir), models_dir=str(settings.resolved_models_dir))
    return subprocess.run(
        support.mindrender(*args), env=env, cwd=support.ROOT, capture_output=True, text=True, timeout=120
    )


def test_an_operator_grants_credits_with_a_ledger_entry_of_its_own(settings, signup):
    user = signup("local@example.com")
    done = _operator(settings, "credits", "grant", "Local@example.com", "25", "--reason", "beta tester")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "granted 25 credits to local@example.com; balance 35"
    assert user.get("/v1/account").json()["credits_balance"] == 35
    [entry] = [e for e in user.get("/v1/account/ledger").json()["entries"] if e["kind"] == "operator_grant"]
    assert (entry["amount"], entry["reference"]) == (25, "beta tester")
    missing = _operator(settings, "credits", "grant", "nobody@example.com", "5")
    assert missing.returncode == 1 and "no account" in missing.stderr
    assert _operator(settings, "credits", "grant", "local@example.com", "0").returncode == 2


def test_an_operator_lists_accounts_and_jobs_and_cancels_one_refunded(settings, signup):
    user = signup("busy@example.com")
    job = submit(user, support.png_bytes(16, 16)).json()
    accounts = _operator(settings, "accounts", "list")
    assert (
        "busy@example.com" in accounts.stdout
        and "9 credits" in accounts.stdout
        and "1 job" in accounts.stdout
    )
    jobs = _operator(settings, "jobs", "list", "--active")
    assert job["id"] in jobs.stdout and "queued" in jobs.stdout and "busy@example.com" in jobs.stdout
    canceled = _operator(settings, "jobs", "cancel", job["id"])
    assert canceled.returncode == 0, canceled.stderr
    assert "queued -> canceled, 1 credit refunded" in canceled.stdout
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "canceled"
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert _operator(settings, "jobs", "list", "--active").stdout.strip() == "no jobs"
