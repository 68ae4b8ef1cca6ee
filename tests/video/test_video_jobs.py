"""Video jobs on a worker: every frame upscaled exactly, frame count, rate, length, audio, subtitles,
rotation and tags kept; cancel mid-clip, a dead worker and damage found late all end refunded."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from app.config import get_settings
from app.jobs.lifecycle import ClaimOutcome, claim_job
from app.jobs.models import Job
from app.media.video_upscale import crf_for
from app.sweeper import sweep
from tests.hardening.held_input import held_input
from tests.jobs.test_lifecycle import assert_ledger_consistent, refunds, run
from tests.jobs.test_submit import balance
from tests.support import current_runtime
from tests.video.clips import BT709, Clip, make_clip, probe
from tests.video.test_video_submit import submit_video


def result_of(user, job_id: str) -> bytes:
    response = user.get(f"/v1/jobs/{job_id}/result")
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    ("clip", "model", "scale", "media_type"),
    [
        (Clip(), "bicubic", 2, "video/mp4"),
        (Clip(container="webm", codec="libvpx-vp9", audio="libopus"), "lanczos", 3, "video/webm"),
    ],
    ids=["mp4-aac-bicubic-x2", "webm-opus-lanczos-x3"],
)
def test_every_frame_comes_back_scaled_with_the_rate_length_and_audio(
    signup, settings, clip, model, scale, media_type
):
    user = signup()
    data = make_clip(clip)
    job = submit_video(user, data, model=model, scale=scale).json()
    assert run(job["id"]).outcome is ClaimOutcome.CLAIMED

    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert (done["status"], done["progress"]) == ("succeeded", 1.0), done
    response = user.get(f"/v1/jobs/{job['id']}/result")
    assert response.headers["content-type"] == media_type
    source, result = probe(data), probe(response.content)
    assert result.frame_sizes == {(clip.width * scale, clip.height * scale)}
    assert (result.frames, result.fps) == (source.frames, source.fps) == (24, 24)
    assert result.video_seconds == pytest.approx(source.video_seconds, abs=1e-3)
    assert result.audio_codec == source.audio_codec == clip.audio.removeprefix("lib")
    assert result.audio_seconds == pytest.approx(source.audio_seconds, abs=1e-3)
    assert result.colorspace == BT709
    assert result.codec == {"video/mp4": "h264", "video/webm": "vp9"}[media_type]
    assert list(current_runtime().storage.keys()) == [f"results/{job['id']}-1.{done['output']['format']}"]
    assert balance(user) == 10 - job["credits_charged"]
    assert refunds(job["id"]) == []
    assert_ledger_consistent(user)


def test_rotation_subtitles_and_tags_are_kept_and_locations_dropped(signup, settings):
    user = signup()
    tags = {"title": "Harbour", "location": "+48.8577+002.2950/"}
    data = make_clip(Clip(rotation=90, subtitles="mov_text", tags=tags))
    job = submit_video(user, data).json()
    assert (job["input"]["width"], job["input"]["height"]) == (48, 64)  # as displayed
    assert (job["output"]["width"], job["output"]["height"]) == (96, 128)
    run(job["id"])
    result = probe(result_of(user, job["id"]))
    assert result.frame_sizes == {(128, 96)}  # coded size; shown rotated, as the input is
    assert result.rotation == probe(data).rotation == 90
    assert result.subtitle_codec == "mov_text"
    assert result.metadata.get("title") == "Harbour"
    assert not any("location" in key for key in result.metadata)

    bare = submit_video(user, data, metadata="none").json()
    run(bare["id"])
    stripped = probe(result_of(user, bare["id"]))
    assert "title" not in stripped.metadata
    assert stripped.rotation == 90  # part of the picture, always kept


def test_output_quality_sets_the_encoders_crf():
    assert [crf_for("mp4", q) for q in (100, 92, 50, 1)] == [16, 18, 28, 40]
    assert [crf_for("webm", q) for q in (100, 92, 50, 1)] == [28, 31, 45, 61]


def test_canceling_mid_clip_stops_within_a_frame_and_refunds(signup, settings, caplog):
    user = signup()
    clip = Clip(width=320, height=240, frames=48)
    job = submit_video(user, make_clip(clip), model="srcnn").json()
    with current_runtime().unit_of_work() as session:
        stored = current_runtime().storage.root / session.get(Job, job["id"]).input_key
    # The worker waits at its input while the job is canceled, then gets it: whatever the CPU's speed, the
    # cancel lands before the first frame's end, where the worker must stop.
    with held_input(stored) as held, caplog.at_level(logging.INFO, logger="app.jobs.processing"):
        worker = threading.Thread(target=run, args=(job["id"],))
        worker.start()
        held.connect()
        canceled = user.delete(f"/v1/jobs/{job['id']}").json()
        held.release()
        worker.join(timeout=120)

    assert not worker.is_alive()
    [stopped] = [record for record in caplog.records if hasattr(record, "progress")]
    assert stopped.progress <= 1 / clip.frames  # its first frame: the lease is checked after every frame
    assert canceled["status"] == "canceled"
    assert canceled["credits_refunded"] == canceled["credits_charged"] == job["credits_charged"]
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "canceled"
    assert balance(user) == 10
    assert list(current_runtime().storage.keys()) == []
    assert refunds(job["id"]) == [job["credits_charged"]]
    assert_ledger_consistent(user)


def test_a_dead_workers_clip_is_redone_by_the_next_attempt_and_charged_once(configure, signup):
    configure(job_lease_seconds="0.2")
    user = signup()
    job = submit_video(user, make_clip()).json()
    with current_runtime().unit_of_work() as session:
        assert claim_job(session, get_settings(), job["id"]).attempt == 1  # then the worker "dies"
    time.sleep(0.3)
    assert run(job["id"]).attempt == 2
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded"
    assert probe(result_of(user, job["id"])).frames == 24
    assert refunds(job["id"]) == []
    assert balance(user) == 10 - job["credits_charged"]


def test_a_dead_worker_that_never_comes_back_is_refunded_in_full(configure, signup):
    configure(job_lease_seconds="0.2")
    user = signup()
    job = submit_video(user, make_clip()).json()
    with current_runtime().unit_of_work() as session:
        claim_job(session, get_settings(), job["id"])
    time.sleep(0.3)
    assert sweep(current_runtime()).lost == [job["id"]]
    lost = user.get(f"/v1/jobs/{job['id']}").json()
    assert (lost["status"], lost["error"]["code"]) == ("failed", "worker_lost")
    assert lost["credits_refunded"] == lost["credits_charged"]
    assert balance(user) == 10
    assert list(current_runtime().storage.keys()) == []


def test_damage_found_by_the_worker_fails_the_job_with_a_full_refund(signup, settings):
    user = signup()
    data = make_clip()
    job = submit_video(user, data).json()
    current_runtime().storage.put(f"inputs/{job['id']}", data[: len(data) // 2], "video/mp4")
    run(job["id"])
    failed = user.get(f"/v1/jobs/{job['id']}").json()
    assert (failed["status"], failed["error"]["code"]) == ("failed", "corrupt_video")
    assert failed["credits_refunded"] == failed["credits_charged"]
    assert balance(user) == 10
    assert list(current_runtime().storage.keys()) == []
