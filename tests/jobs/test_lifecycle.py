"""A job's life in a worker: claim, lease, success, failure with refund, lost workers, retention."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from sqlalchemy import select

from app.config import get_settings
from app.credits.models import EntryKind, LedgerEntry
from app.credits.service import ledger_sum
from app.jobs.lifecycle import ClaimOutcome, claim_job, complete_job, end_job
from app.jobs.models import Job
from app.jobs.processing import run_job
from app.sweeper import sweep
from tests.jobs.test_submit import submit
from tests.support import current_runtime, png_bytes, queued_task_args


def run(job_id: str):
    return run_job(current_runtime(), job_id)


def refunds(job_id: str) -> list[int]:
    with current_runtime().unit_of_work() as session:
        query = select(LedgerEntry.amount).where(
            LedgerEntry.job_id == job_id, LedgerEntry.kind == EntryKind.JOB_REFUND
        )
        return list(session.execute(query).scalars())


def assert_ledger_consistent(user) -> None:
    account = user.get("/v1/account").json()
    with current_runtime().unit_of_work() as session:
        assert ledger_sum(session, account["id"]) == account["credits_balance"] >= 0


@pytest.mark.parametrize("model", ["nearest", "bilinear", "bicubic", "lanczos", "srcnn"])
def test_a_worker_run_produces_the_result_and_deletes_the_input(signup, settings, model):
    user = signup()
    job = submit(user, png_bytes(64, 48), model=model, scale=2).json()
    assert run(job["id"]).outcome is ClaimOutcome.CLAIMED

    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded"
    assert done["progress"] == 1.0
    assert done["output"]["url"].endswith(f"/v1/jobs/{job['id']}/result")
    result = user.get(f"/v1/jobs/{job['id']}/result")
    assert result.status_code == 200
    assert result.headers["content-type"] == "image/png"
    assert "attachment" in result.headers["content-disposition"]
    assert Image.open(io.BytesIO(result.content)).size == (128, 96)
    assert list(current_runtime().storage.keys()) == [f"results/{job['id']}-1.png"]
    assert user.get("/v1/account").json()["credits_balance"] == 10 - job["credits_charged"]
    assert_ledger_consistent(user)


def test_a_second_delivery_of_a_finished_job_does_nothing(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    run(job["id"])
    assert run(job["id"]).outcome is ClaimOutcome.GONE
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"


def test_a_failure_in_the_worker_fails_the_job_and_refunds_it_once(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    damaged = png_bytes()[:-40]  # damaged after validation
    current_runtime().storage.put(f"inputs/{job['id']}", damaged, "image/png")
    run(job["id"])

    failed = user.get(f"/v1/jobs/{job['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "corrupt_image"
    assert failed["credits_refunded"] == failed["credits_charged"] == 1
    assert user.get("/v1/account").json()["credits_balance"] == 10
    with current_runtime().unit_of_work() as session:
        assert not end_job(session, get_settings(), session.get(Job, job["id"]), "failed", ("again", "again"))
    assert refunds(job["id"]) == [1]
    assert list(current_runtime().storage.keys()) == []
    assert_ledger_consistent(user)


def test_a_missing_input_fails_with_refund(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    current_runtime().storage.delete(f"inputs/{job['id']}")
    run(job["id"])
    failed = user.get(f"/v1/jobs/{job['id']}").json()
    assert (failed["status"], failed["error"]["code"], failed["credits_refunded"]) == (
        "failed",
        "input_missing",
        1,
    )


def test_a_live_lease_keeps_a_second_worker_out(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    with current_runtime().unit_of_work() as session:
        first = claim_job(session, get_settings(), job["id"])
        second = claim_job(session, get_settings(), job["id"])
    assert first.outcome is ClaimOutcome.CLAIMED and first.attempt == 1
    assert second.outcome is ClaimOutcome.BUSY and second.retry_in > 0


def test_a_lost_worker_is_failed_and_refunded_by_the_sweeper(configure, signup):
    configure(job_lease_seconds="0.2")
    user = signup()
    job = submit(user, png_bytes()).json()
    with current_runtime().unit_of_work() as session:
        assert claim_job(session, get_settings(), job["id"]).outcome is ClaimOutcome.CLAIMED
    time.sleep(0.3)  # the worker "died": nobody renews the lease
    report = sweep(current_runtime())
    assert report.lost == [job["id"]]
    lost = user.get(f"/v1/jobs/{job['id']}").json()
    assert (lost["status"], lost["error"]["code"], lost["credits_refunded"]) == ("failed", "worker_lost", 1)
    assert list(current_runtime().storage.keys()) == []
    # The broker redelivers the message later: the job is over, nothing runs, nothing is refunded twice.
    assert run(job["id"]).outcome is ClaimOutcome.GONE
    assert refunds(job["id"]) == [1]
    assert_ledger_consistent(user)


def test_a_lapsed_lease_is_taken_over_and_redeliveries_are_capped(configure, signup):
    configure(job_lease_seconds="0.1", job_max_attempts="2")
    user = signup()
    job = submit(user, png_bytes()).json()
    with current_runtime().unit_of_work() as session:
        assert claim_job(session, get_settings(), job["id"]).attempt == 1
        time.sleep(0.15)
        assert claim_job(session, get_settings(), job["id"]).attempt == 2
        time.sleep(0.15)
        assert claim_job(session, get_settings(), job["id"]).outcome is ClaimOutcome.GONE
    capped = user.get(f"/v1/jobs/{job['id']}").json()
    assert (capped["status"], capped["error"]["code"], capped["credits_refunded"]) == (
        "failed",
        "worker_lost",
        1,
    )


def test_canceling_a_running_job_discards_the_late_result(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    with current_runtime().unit_of_work() as session:
        attempt = claim_job(session, get_settings(), job["id"]).attempt
    assert user.delete(f"/v1/jobs/{job['id']}").json()["status"] == "canceled"
    with current_runtime().unit_of_work() as session:
        assert not complete_job(session, get_settings(), job["id"], attempt, "results/x.png", 1)
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "canceled"
    assert refunds(job["id"]) == [1]


def test_results_expire_after_the_retention(configure, signup):
    configure(result_ttl="1")
    user = signup()
    job = submit(user, png_bytes()).json()
    run(job["id"])
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    assert sweep(current_runtime()).expired == []
    time.sleep(1.1)
    assert sweep(current_runtime()).expired == [job["id"]]
    expired = user.get(f"/v1/jobs/{job['id']}").json()
    assert expired["status"] == "expired"
    assert expired["output"]["url"] is None
    assert user.get(f"/v1/jobs/{job['id']}/result").status_code == 409
    assert list(current_runtime().storage.keys()) == []


def test_delete_now_removes_a_result_immediately(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    run(job["id"])
    deleted = user.delete(f"/v1/jobs/{job['id']}").json()
    assert deleted["status"] == "expired"
    assert deleted["credits_refunded"] == 0
    assert list(current_runtime().storage.keys()) == []


def test_stale_queued_jobs_are_sent_again(configure, signup):
    settings = configure(queue_redispatch_seconds="0.1")
    user = signup()
    job = submit(user, png_bytes()).json()
    assert queued_task_args(settings) == [[job["id"]]]
    time.sleep(0.2)
    assert sweep(current_runtime()).redispatched == [job["id"]]
    assert queued_task_args(settings) == [[job["id"]], [job["id"]]]


def test_local_results_are_served_through_signed_expiring_links(configure, signup):
    configure(result_url_ttl="10")
    user = signup()
    job = submit(user, png_bytes()).json()
    run(job["id"])
    redirect = user.get(f"/v1/jobs/{job['id']}/result", follow_redirects=False)
    assert redirect.status_code == 307
    link = redirect.headers["location"]
    anonymous = user.get(link, headers={"Authorization": ""})  # the link itself is the credential
    assert anonymous.status_code == 200
    assert anonymous.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(anonymous.content)).size == (128, 96)
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert user.get(forged).status_code == 404

    from app.config import get_settings
    from app.storage.signed_urls import signing_key, verify

    token = link.rsplit("/", 1)[1]
    assert verify(signing_key(get_settings()), token) is not None
    assert verify(signing_key(get_settings()), token, now=time.time() + 11) is None  # expired after the TTL


def test_the_sweeper_leaves_a_live_lease_alone(signup, settings):
    user = signup()
    job = submit(user, png_bytes()).json()
    with current_runtime().unit_of_work() as session:
        claim_job(session, get_settings(), job["id"])
    assert sweep(current_runtime()).lost == []
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "running"


def test_a_duplicate_message_does_not_fail_the_live_last_attempt(configure, signup):
    configure(job_max_attempts="1")
    user = signup()
    job = submit(user, png_bytes()).json()
    with current_runtime().unit_of_work() as session:
        first = claim_job(session, get_settings(), job["id"])
        duplicate = claim_job(session, get_settings(), job["id"])
        assert duplicate.outcome is ClaimOutcome.BUSY
        assert complete_job(session, get_settings(), job["id"], first.attempt, "results/r.png", 1)
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    assert refunds(job["id"]) == []


def test_finished_results_download_as_one_streamed_zip(signup, settings):
    import zipfile

    user, other = signup(), signup()
    done = [submit(user, png_bytes(20 + i, 10), scale=2).json() for i in range(3)]
    for job in done:
        run(job["id"])
    queued = submit(user, png_bytes(8, 8)).json()
    foreign = submit(other, png_bytes(8, 8)).json()
    run(foreign["id"])
    ids = ",".join([*(job["id"] for job in done), queued["id"], foreign["id"], "no-such-job"])
    response = user.get("/v1/jobs/archive", params={"ids": ids})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        # Not the queued one, not another account's; each named after its upload (`in.png`), kept apart.
        assert names == ["in_x2.png", "in_x2 (2).png", "in_x2 (3).png"]
        sizes = [Image.open(io.BytesIO(archive.read(name))).size for name in names]
    assert sizes == [(40, 20), (42, 20), (44, 20)]
    nothing = user.get("/v1/jobs/archive", params={"ids": queued["id"]})
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "result_not_available"
    too_many = user.get("/v1/jobs/archive", params={"ids": ",".join(str(i) for i in range(101))})
    assert too_many.status_code == 422


def test_an_archive_of_results_no_longer_stored_is_a_409_and_a_mix_holds_those_left(signup, settings):
    """A result can be gone from storage while its job still says succeeded (its retention ended between
    the sweep's delete and its update, or the bucket's lifecycle rule took it): an archive of only such
    results answered 200 with an empty zip."""
    import zipfile

    user = signup()
    jobs = [submit(user, png_bytes(20 + i, 10), scale=2).json() for i in range(3)]
    for job in jobs:
        run(job["id"])
    with current_runtime().unit_of_work() as session:
        for job in jobs[:2]:
            stored = session.get(Job, job["id"])
            assert stored is not None and stored.output_key is not None
            current_runtime().storage.delete(stored.output_key)
    gone = user.get("/v1/jobs/archive", params={"ids": ",".join(job["id"] for job in jobs[:2])})
    assert gone.status_code == 409, gone.text
    assert gone.json()["error"]["code"] == "result_not_available"
    assert "is stored any more" in gone.json()["error"]["message"]
    mixed = user.get("/v1/jobs/archive", params={"ids": ",".join(job["id"] for job in jobs)})
    assert mixed.status_code == 200, mixed.text
    with zipfile.ZipFile(io.BytesIO(mixed.content)) as archive:
        # The one still stored, named as if it were alone (no " (3)" for the two that are gone).
        assert archive.namelist() == ["in_x2.png"]
        assert Image.open(io.BytesIO(archive.read("in_x2.png"))).size == (44, 20)
