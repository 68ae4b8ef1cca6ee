"""Submitting videos: recognised by content, priced per output megapixel-frame, refused before any
charge when damaged, too long, too large per frame, or asking for an output that cannot carry them."""

from __future__ import annotations

import math

import pytest

from tests.jobs.test_submit import assert_nothing_kept, balance
from tests.support import current_runtime
from tests.video.clips import Clip, make_clip

MP4 = Clip()
WEBM = Clip(container="webm", codec="libvpx-vp9", audio="libopus")


def submit_video(user, data: bytes, model: str = "bicubic", scale: int = 2, name: str = "clip.bin", **extra):
    fields = {"model": model, "scale": str(scale), **extra}
    return user.post("/v1/jobs", files={"file": (name, data, "application/octet-stream")}, data=fields)


@pytest.mark.parametrize(
    ("clip", "input_format", "output_format"),
    [(MP4, "mp4", "mp4"), (WEBM, "webm", "webm")],
    ids=["mp4", "webm"],
)
def test_a_video_is_recognised_by_content_and_priced_per_megapixel_frame(
    signup, settings, clip, input_format, output_format
):
    user = signup()
    # A misleading name and media type change nothing: the bytes say what the file is.
    response = submit_video(user, make_clip(clip), model="srcnn", name="holiday.png")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["input"] == {"width": 64, "height": 48, "format": input_format}
    assert (job["output"]["width"], job["output"]["height"], job["output"]["format"]) == (
        128,
        96,
        output_format,
    )
    assert job["video"] == {"frames": 24, "fps": 24.0, "duration_seconds": pytest.approx(1.0, abs=0.002)}

    srcnn = next(m for m in user.get("/v1/models").json() if m["id"] == "srcnn")
    megapixel_frames = 128 * 96 * 24 / 1e6
    pricing = srcnn["credits"]
    assert job["credits_charged"] == max(
        pricing["minimum"], math.ceil(megapixel_frames / pricing["megapixels_per_credit"])
    )
    assert balance(user) == 10 - job["credits_charged"]
    assert list(current_runtime().storage.keys()) == [f"inputs/{job['id']}"]


def test_every_frame_counts_towards_the_price(signup, settings):
    user = signup()
    clip = Clip(width=320, height=240, frames=24)  # x2: 0.31 MP a frame (1 credit alone), 7.4 MP in all
    job = submit_video(user, make_clip(clip), model="srcnn").json()
    assert job["credits_charged"] == math.ceil(640 * 480 * 24 / 4e6) == 2  # srcnn: 1 credit per 4 MP


def test_models_state_the_video_limits_and_formats(signup, configure):
    configure(max_video_seconds="12.5", max_video_frames="300", max_video_output_pixels="2000000")
    for model in signup().get("/v1/models").json():
        video = model["video"]
        assert (video["max_seconds"], video["max_frames"], video["max_output_pixels_per_frame"]) == (
            12.5,
            300,
            2_000_000,
        )
        assert video["output_formats"] == ["mp4", "webm"]
        assert set(video["input_formats"]) == {"mp4", "mov", "webm", "mkv"}
        assert set(video["codecs"]) == {"h264", "hevc", "vp8", "vp9", "av1"}


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 6 // 10]


def _scrambled(data: bytes) -> bytes:
    damaged = bytearray(data)
    middle = len(data) // 3
    damaged[middle : middle + 2000] = bytes((i * 37 + 11) % 256 for i in range(2000))
    return bytes(damaged)


@pytest.mark.parametrize(
    ("clip", "damage"),
    [(MP4, _truncated), (WEBM, _truncated), (MP4, _scrambled), (WEBM, _scrambled)],
    ids=["mp4-truncated", "webm-truncated", "mp4-scrambled", "webm-scrambled"],
)
def test_a_damaged_video_is_a_422_that_charges_and_keeps_nothing(signup, settings, clip, damage):
    user = signup()
    response = submit_video(user, damage(make_clip(clip)))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "corrupt_video"
    assert "video" in error["message"] or "truncated" in error["message"]
    assert_nothing_kept(user, settings)


def test_a_file_that_only_starts_like_a_video_is_refused(signup, settings):
    user = signup()
    response = submit_video(user, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "corrupt_video"
    assert_nothing_kept(user, settings)


@pytest.mark.parametrize(
    ("overrides", "clip", "code"),
    [
        ({"max_video_seconds": "0.5"}, MP4, "video_too_long"),
        ({"max_video_seconds": "0.5"}, WEBM, "video_too_long"),
        ({"max_video_frames": "10"}, MP4, "video_too_long"),
        ({"max_video_frames": "10"}, WEBM, "video_too_long"),
        ({"max_video_output_pixels": "10000"}, MP4, "output_too_large"),
        ({"max_input_pixels": "1000"}, MP4, "image_too_large"),
    ],
    ids=["seconds-mp4", "seconds-webm", "frames-mp4", "frames-webm", "output-per-frame", "input-per-frame"],
)
def test_an_over_limit_clip_is_refused_at_submit(configure, signup, overrides, clip, code):
    settings = configure(**overrides)
    user = signup()
    response = submit_video(user, make_clip(clip))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert_nothing_kept(user, settings)


@pytest.mark.parametrize(
    ("clip", "fields"),
    [
        (MP4, {"output_format": "png"}),  # a video never comes back as an image
        (MP4, {"output_format": "webm"}),  # AAC cannot go into WebM unchanged
        (
            Clip(width=63, height=47, container="webm", codec="libvpx-vp9", audio=None),
            {"scale": "3", "output_format": "mp4"},
        ),  # H.264 needs even sides
    ],
    ids=["png", "aac-in-webm", "odd-h264"],
)
def test_an_output_format_that_cannot_carry_the_clip_is_refused(signup, settings, clip, fields):
    user = signup()
    response = submit_video(user, make_clip(clip), **fields)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "unsupported_output_format"
    assert_nothing_kept(user, settings)


def test_an_image_cannot_ask_for_a_video_format(signup, settings):
    from tests.support import png_bytes

    user = signup()
    response = submit_video(user, png_bytes(), output_format="mp4")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_output_format"
    assert_nothing_kept(user, settings)


def test_an_unaffordable_clip_is_a_402_before_decoding(signup, settings):
    user = signup()
    clip = Clip(width=320, height=240, frames=96)  # x8: 4.9 MP a frame, 472 MP: 30 credits of srcnn
    response = submit_video(user, make_clip(clip), model="srcnn", scale=8)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert_nothing_kept(user, settings)


def test_models_say_which_are_stable_on_video(signup, settings):
    videos = {model["id"]: model["video"] for model in signup().get("/v1/models").json()}
    assert videos["realesr-animevideov3"]["stable"] is True
    assert videos["waifu2x-photo"]["stable"] is False
    assert videos["waifu2x-photo"]["temporal_flicker"] > 1.1 >= videos["bicubic"]["temporal_flicker"]


def test_a_clip_of_tiny_frames_is_priced_for_its_frames(signup, settings):
    """600 frames of 16x16 at x4 are 2.5 output MP (1 credit of bicubic), but each frame costs the worker a
    decode, an encode and a model call: each counts as at least a 256x256 output frame, 39.3 MP, 3 credits."""
    user = signup()
    clip = make_clip(Clip(width=16, height=16, frames=600, fps=60, audio=None))
    quoted = user.post(
        "/v1/jobs/quote",
        files={"file": ("clip.mp4", clip, "video/mp4")},
        data={"model": "bicubic", "scale": "4"},
    )
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["credits"] == math.ceil(600 * 256 * 256 / 16e6) == 3


def test_presets_and_auto_run_a_steady_model_on_a_clip(signup, settings):
    """The photo preset's detail model shimmers from frame to frame (temporal flicker 1.74): on a clip every
    preset runs its steady model, `auto` too, and no detail applies."""
    user = signup()
    clip = make_clip(Clip(frames=4, audio=None))
    steady = {model["id"] for model in user.get("/v1/models").json() if model["video"]["stable"] is not False}
    for preset in ("photo", "anime", "text", "faithful", "auto"):
        quoted = user.post(
            "/v1/jobs/quote",
            files={"file": ("clip.mp4", clip, "video/mp4")},
            data={"preset": preset, "scale": "2"},
        )
        assert quoted.status_code == 200, (preset, quoted.text)
        quote = quoted.json()
        stages = [stage["model"] for branch in quote["recipe"] for stage in branch["stages"]]
        assert set(stages) <= steady and quote["detail"] is None, (preset, quote)
        assert quote["text_stage"] is None
    photo = user.post(
        "/v1/jobs/quote",
        files={"file": ("clip.mp4", clip, "video/mp4")},
        data={"preset": "photo", "scale": "2"},
    ).json()
    assert photo["model"] == "faithful" and "steady" in photo["reason"], photo
