"""Estimates: jobs that cannot finish in time are refused before charging; speeds measured by workers."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app.estimates.service import heartbeat
from app.jobs.processing import WorkerIdentity, run_job
from tests.hardening.test_upload_costs import _png_claiming
from tests.jobs.test_submit import submit
from tests.support import current_runtime, png_bytes


def test_a_job_that_cannot_finish_in_time_is_refused_before_charging(signup):
    user = signup()
    response = submit(user, _png_claiming(3000, 2500), model="realesrgan-x4plus", scale=4)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "job_too_slow"
    message = error["message"]
    assert "3000x2500" in message and "minutes" in message and "What fits" in message
    assert "realesrgan-x4plus at x2" in message or "an image up to" in message
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert user.get("/v1/jobs").json()["jobs"] == []


def test_a_small_job_is_accepted_with_its_estimate(signup):
    user = signup()
    job = submit(user, png_bytes(128, 128), model="realesrgan-x4plus", scale=4).json()
    assert job["status"] == "queued"
    assert 1 < job["estimated_seconds"] < 60
    assert job["eta_seconds"] >= job["estimated_seconds"] - 0.5


def test_a_queued_job_waits_for_the_jobs_ahead_of_it(signup):
    user = signup()
    first = submit(user, png_bytes(200, 200), model="realesr-animevideov3", scale=4).json()
    second = submit(user, png_bytes(200, 200), model="realesr-animevideov3", scale=4).json()
    again = user.get(f"/v1/jobs/{second['id']}").json()
    assert again["eta_seconds"] >= first["estimated_seconds"] + second["estimated_seconds"] - 1


def test_a_worker_measures_its_own_speed_and_the_catalog_shows_it(signup, settings):
    user = signup()
    runtime = current_runtime()
    with runtime.unit_of_work() as session:
        heartbeat(session, "worker-a", ["cpu", "gpu"], "cpu")
    before = {m["id"]: m["seconds_per_output_megapixel"] for m in user.get("/v1/models").json()}
    assert before["bicubic"] == 0.02  # the default until measured
    job = submit(user, png_bytes(400, 300), model="bicubic", scale=4).json()
    run_job(runtime, job["id"], WorkerIdentity("worker-a", "cpu"))
    after = {m["id"]: m["seconds_per_output_megapixel"] for m in user.get("/v1/models").json()}
    assert after["bicubic"] != before["bicubic"] and after["bicubic"] < 1.0
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded" and done["eta_seconds"] is None
    result = user.get(f"/v1/jobs/{job['id']}/result")
    assert np.asarray(Image.open(io.BytesIO(result.content))).shape == (1200, 1600, 3)


def test_the_time_limit_is_the_operators_to_raise(configure, signup):
    configure(job_soft_time_limit="7200")
    user = signup()
    # Two hours allowed: the same 3000x2500 job now fits, and is refused only for its price.
    refused = submit(user, _png_claiming(3000, 2500), model="realesrgan-x4plus", scale=4)
    assert refused.status_code == 402, refused.text


def test_a_vulkan_worker_starts_from_a_guess_between_the_cpus_and_cudas(signup, settings):
    """A worker advertises its device in its heartbeat; until it measures, its device sets the default."""
    user = signup()
    with current_runtime().unit_of_work() as session:
        heartbeat(session, "worker-v", ["gpu"], "vulkan")
    shown = {m["id"]: m["seconds_per_output_megapixel"] for m in user.get("/v1/models").json()}
    from app.estimates.defaults import CPU_SECONDS_PER_MEGAPIXEL, GPU_SPEEDUP_GUESS

    cpu = CPU_SECONDS_PER_MEGAPIXEL["realesrgan-x4plus"]
    assert cpu / GPU_SPEEDUP_GUESS < shown["realesrgan-x4plus"] < cpu
