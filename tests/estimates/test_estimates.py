"""Estimates: jobs that cannot finish in time are refused before charging; speeds measured by workers."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from PIL import Image

from app.db import utcnow
from app.estimates.service import default_speed, heartbeat, record_job_speed
from app.jobs.eta import eta_seconds
from app.jobs.models import Job, JobStatus
from app.jobs.processing import WorkerIdentity, run_job
from tests.hardening.test_upload_costs import _png_claiming
from tests.jobs.test_quote import quote
from tests.jobs.test_submit import submit
from tests.support import current_runtime, png_bytes
from tests.video.clips import Clip, make_clip


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


def _shown(user) -> dict[str, float]:
    return {m["id"]: m["seconds_per_output_megapixel"] for m in user.get("/v1/models").json()}


def test_a_worker_measures_its_own_speed_and_the_catalog_shows_it(signup, settings):
    """One job alone moves nothing (the default keeps its votes); a second that agrees with it does."""
    user = signup()
    runtime = current_runtime()
    with runtime.unit_of_work() as session:
        heartbeat(session, "worker-a", ["cpu", "gpu"], "cpu")
    assert _shown(user)["bicubic"] == 0.02  # the default until measured
    jobs = [submit(user, png_bytes(400, 300), model="bicubic", scale=4).json() for _ in range(2)]
    run_job(runtime, jobs[0]["id"], WorkerIdentity("worker-a", "cpu"))
    assert _shown(user)["bicubic"] == 0.02
    run_job(runtime, jobs[1]["id"], WorkerIdentity("worker-a", "cpu"))
    assert _shown(user)["bicubic"] != 0.02 and _shown(user)["bicubic"] < 1.0
    job = jobs[1]
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


def _account_id(user) -> str:
    return str(user.get("/v1/account").json()["id"])


def _record(worker: str, model: str, seconds: float, output_pixels: int, account_id: str) -> None:
    """A finished job's run time, recorded as `run_job` records it for its worker."""
    with current_runtime().unit_of_work() as session:
        record_job_speed(session, worker, "cpu", model, seconds, output_pixels, account_id=account_id)


# realesrgan-x4plus at x4 on 256x256: 1.05 output MP, about 17 s at the CPU default of 16 s per MP, which a
# 30-s limit allows (24 s with the estimate's margin).
_IMAGE, _MODEL, _OUTPUT_PIXELS = (256, 256), "realesrgan-x4plus", 1024 * 1024


def test_one_slow_job_cannot_make_another_accounts_quote_too_slow(configure, signup):
    configure(job_soft_time_limit="30")
    b = signup()
    with current_runtime().unit_of_work() as session:
        heartbeat(session, "worker-a", ["cpu", "gpu"], "cpu")
    assert quote(b, png_bytes(*_IMAGE), model=_MODEL, scale=4).status_code == 200
    # Another account's job took an hour (a pathological clip, a stalled disk): one sample, however far off.
    with current_runtime().unit_of_work() as session:
        record_job_speed(session, "worker-a", "cpu", _MODEL, 3600.0, _OUTPUT_PIXELS)
    again = quote(b, png_bytes(*_IMAGE), model=_MODEL, scale=4)
    assert again.status_code == 200, again.text
    assert again.json()["estimated_seconds"] < 24


def test_one_account_cannot_outvote_the_others_jobs(configure, signup):
    """However many slow jobs one account runs, only its latest few join the window; the others' decide."""
    configure(job_soft_time_limit="30")
    a, b = signup(), signup()
    with current_runtime().unit_of_work() as session:
        heartbeat(session, "worker-a", ["cpu", "gpu"], "cpu")
    for _ in range(4):
        _record("worker-a", _MODEL, 17.0, _OUTPUT_PIXELS, _account_id(b))
    for _ in range(50):  # more than a window's worth: B's samples still count
        _record("worker-a", _MODEL, 3600.0, _OUTPUT_PIXELS, _account_id(a))
    again = quote(b, png_bytes(*_IMAGE), model=_MODEL, scale=4)
    assert again.status_code == 200, again.text


def test_a_long_clip_of_tiny_frames_is_estimated_for_its_frames(configure, signup):
    """3,000 frames of 16x16 are 12 output MP at x4, 5 s of network work, but each frame is a decode,
    an encode and a call through the engine: 18 s more, past a 15-s limit (estimated at 6 s without)."""
    configure(job_soft_time_limit="15")
    user = signup()
    clip = make_clip(Clip(width=16, height=16, frames=3000, fps=60, audio=None))
    refused = quote(user, clip, name="clip.mp4", model="realesr-animevideov3", scale=4)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "job_too_slow"
    assert "3,000 frames" in refused.json()["error"]["message"]


def test_a_running_job_past_its_estimate_never_says_nothing_is_left():
    """A heavy model's one window reports no progress until it ends: its ETA counted down to 0 and sat
    there. While the job runs the ETA stays above 0, and once progress comes it follows it."""
    started = utcnow() - timedelta(seconds=30)
    job = Job(status=JobStatus.RUNNING, estimated_seconds=10.0, started_at=started, progress=0.0)
    speed = default_speed("bicubic", "cpu")
    overrun = eta_seconds(None, job, speed)  # a running job reads no rows
    assert overrun is not None and 2.9 <= overrun <= 3.2  # a tenth of the 30 s so far
    job.progress = 0.75
    moving = eta_seconds(None, job, speed)
    assert moving is not None and 9.5 <= moving <= 10.5  # 30 s for three quarters: 10 s to go
    job.progress, job.started_at = 0.0, utcnow() - timedelta(seconds=2)
    fresh = eta_seconds(None, job, speed)
    assert fresh is not None and 7.5 <= fresh <= 8.1  # within its estimate: the estimate's rest
