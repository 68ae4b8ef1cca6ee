"""What a result can carry: a clip whose result the worker could not write is refused at submission and
quote, before anything is charged; one it can write by converting (Matroska's PCM, an RGB picture) runs."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from app.jobs.lifecycle import ClaimOutcome
from tests.jobs.test_lifecycle import refunds, run
from tests.jobs.test_quote import quote
from tests.jobs.test_submit import assert_nothing_kept, balance
from tests.video.clips import BT709, Clip, make_clip, probe
from tests.video.test_video_submit import submit_video


@pytest.mark.parametrize(
    ("clip", "fields", "code"),
    [
        # MP4 takes PCM with unordered channels in its header and refuses it in its trailer; 9 channels
        # have no usual layout to give them.
        (Clip(container="matroska", audio="pcm_s16le", layout="9 channels"), {}, "unsupported_output_format"),
        # 16x32768: x264 opens at most 16,384 a side.
        (Clip(width=2, height=4096, frames=2, audio=None), {"scale": "8"}, "output_too_large"),
        # 16x65600: libvpx opens at most 65,536 a side.
        (
            Clip(width=2, height=8200, frames=2, audio=None),
            {"scale": "8", "output_format": "webm"},
            "output_too_large",
        ),
    ],
    ids=["pcm-9-channels-in-mp4", "h264-past-16384", "vp9-past-65536"],
)
def test_a_result_the_worker_could_not_write_is_refused_before_charging(signup, settings, clip, fields, code):
    user = signup()
    data = make_clip(clip)
    quoted = quote(user, data, name="clip.bin", model="nearest", **fields)
    assert quoted.status_code == 422, quoted.text
    assert quoted.json()["error"]["code"] == code
    response = submit_video(user, data, model="nearest", **fields)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert_nothing_kept(user, settings)


@pytest.mark.parametrize(
    ("clip", "fields"),
    [
        (Clip(width=2, height=2048, frames=2, audio=None), {"scale": "8"}),
        (Clip(width=2, height=4096, frames=2, audio=None), {"scale": "8", "output_format": "webm"}),
    ],
    ids=["h264-at-16384", "vp9-past-16384"],
)
def test_frames_up_to_the_encoders_limits_are_accepted(signup, settings, clip, fields):
    user = signup()
    response = submit_video(user, make_clip(clip), model="nearest", **fields)
    assert response.status_code == 202, response.text


def test_matroska_pcm_comes_back_in_mp4_with_its_audio(signup, settings):
    user = signup()
    data = make_clip(Clip(container="matroska", audio="pcm_s16le"))
    job = submit_video(user, data, model="nearest").json()
    assert job["output"]["format"] == "mp4"
    assert run(job["id"]).outcome is ClaimOutcome.CLAIMED
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    source, result = probe(data), probe(user.get(f"/v1/jobs/{job['id']}/result").content)
    assert result.audio_codec == source.audio_codec == "pcm_s16le"
    assert result.audio_seconds == pytest.approx(source.audio_seconds, abs=1e-3)
    assert balance(user) == 10 - job["credits_charged"] and refunds(job["id"]) == []


def _first_frame(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(np.float64)


@pytest.mark.parametrize("output_format", ["webm", "mp4"])
def test_an_rgb_clip_is_converted_to_yuv_and_keeps_its_colours(signup, settings, output_format):
    """libx264rgb writes RGB (gbrp) with the RGB matrix tag; the result is 4:2:0 YUV tagged BT.709."""
    user = signup()
    data = make_clip(Clip(codec="libx264rgb", pix_fmt="rgb24", audio=None, width=32, height=24, frames=4))
    job = submit_video(user, data, model="nearest", output_format=output_format).json()
    assert run(job["id"]).outcome is ClaimOutcome.CLAIMED
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    result = user.get(f"/v1/jobs/{job['id']}/result").content
    assert probe(result).colorspace == BT709
    expected = _first_frame(data).repeat(2, axis=0).repeat(2, axis=1)
    # 4:2:0 halves the chroma of 8-pixel blocks of random colours: a few levels on average, not a
    # wrong matrix's tens.
    assert np.abs(_first_frame(result) - expected).mean() < 8


@pytest.mark.parametrize(
    ("clip", "fields", "remedy"),
    [
        (Clip(container="matroska", audio="tta"), {}, "Opus for WebM"),  # fits neither container
        (Clip(), {"output_format": "webm"}, "output_format=mp4"),  # AAC fits MP4
    ],
    ids=["tta", "aac-in-webm"],
)
def test_a_refusal_names_the_other_container_only_where_the_clip_fits_it(
    signup, settings, clip, fields, remedy
):
    user = signup()
    response = submit_video(user, make_clip(clip), model="nearest", **fields)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_output_format"
    assert remedy in error["message"]
    assert_nothing_kept(user, settings)
