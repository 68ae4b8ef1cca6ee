"""What a clip can make the API spend before it is refused or priced: headers that lie, frames that are
never decoded for a quote, packets read only by those who can pay and only up to a bound, and AV1."""

from __future__ import annotations

import pytest

from app.media.errors import UnsupportedVideo
from app.media.video_probe import VideoLimits, read_video_header
from bench.hostile_clips import fragmented_mp4, lying_mkv, lying_mp4, many_audio_packets
from tests.jobs.test_quote import nothing_changes, quote
from tests.video.clips import Clip, make_clip
from tests.video.test_video_submit import submit_video


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (lying_mp4(20_000_000), "video_too_long"),
        (lying_mp4(50_000_000), "video_too_long"),
        (lying_mp4(24, audio_samples=20_000_000), "corrupt_video"),
        (fragmented_mp4(20_000_000), "video_too_long"),
        (lying_mp4(24, width=8192, height=8192, codec=b"hvc1"), "image_too_large"),
        (lying_mkv(width=8192, height=8192), "image_too_large"),
    ],
    ids=["20m-frames", "50m-frames", "20m-audio-samples", "20m-fragment-frames", "8192-hevc", "8192-mkv"],
)
def test_a_lying_header_is_refused_by_a_quote_and_a_submission(signup, settings, data, code):
    user = signup()
    with nothing_changes(user, settings):
        quoted = quote(user, data, name="clip.mp4")
        submitted = submit_video(user, data)
    assert (quoted.status_code, quoted.json()["error"]["code"]) == (422, code), quoted.text
    assert submitted.json() == quoted.json()


def _frames_zeroed(clip: Clip) -> bytes:
    """A clip whose every frame's bytes are zero: its headers are sound, no frame decodes."""
    data = bytearray(make_clip(clip))
    at = data.index(b"mdat") + 4
    end = at - 8 + int.from_bytes(data[at - 8 : at - 4], "big")
    data[at:end] = bytes(end - at)
    return bytes(data)


def test_a_quote_the_balance_does_not_cover_decodes_nothing(configure, signup, settings):
    """The rotation and size come from the header: an account without credits is quoted a clip none of
    whose frames decode (it used to decode the first frame, outside the decode budget), and is told it is
    damaged once it can pay, by the full decode within the budget."""
    configure(signup_credits="0")
    broke = signup()
    data = _frames_zeroed(Clip(codec="libx265", audio=None, rotation=90))
    with nothing_changes(broke, settings):
        priced = quote(broke, data, name="clip.mp4")
    assert priced.status_code == 200, priced.text
    assert priced.json()["input"] == {"width": 48, "height": 64, "format": "mp4"}
    assert priced.json()["covered_by_balance"] is False

    configure(signup_credits="10")
    paying = signup()
    with nothing_changes(paying, settings):
        refused = quote(paying, data, name="clip.mp4")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "corrupt_video"), refused.text


def test_tiny_audio_packets_are_read_only_up_to_a_bound(configure, signup, settings, tmp_path):
    """The packets read to count a clip's frames are bounded (its frames plus 250 a second of its longest
    allowed length), and an account that cannot pay is quoted from the header without reading any."""
    # The bound here: 100 frames + 250 x 60 s = 15,100 packets; the clip holds 20,024.
    configure(max_video_frames="100", max_video_seconds="60")
    data = many_audio_packets(tmp_path / "tiny.mkv", 20_000)
    limits = VideoLimits(max_seconds=60, max_frames=100, max_output_pixels=10**8)
    assert limits.max_packets == 15_100
    with pytest.raises(UnsupportedVideo, match="more than 15,100 packets"):
        read_video_header(data, "mkv", limits)
    header_only = read_video_header(data, "mkv", limits, count_frames=False)
    # Its declared 20 s at 24 fps, at most the frame limit (the count decides past it).
    assert (header_only.frames_exact, header_only.frames) == (False, min(20 * 24, 100))

    user = signup()
    with nothing_changes(user, settings):
        quoted = quote(user, data, name="clip.mkv")
        submitted = submit_video(user, data)
    assert (quoted.status_code, quoted.json()["error"]["code"]) == (415, "unsupported_video"), quoted.text
    assert "more than 15,100 packets" in quoted.json()["error"]["message"]
    assert submitted.json() == quoted.json()

    configure(signup_credits="0")
    broke = signup()
    with nothing_changes(broke, settings):
        priced = quote(broke, data, name="clip.mkv")
        unpaid = submit_video(broke, data)
    assert priced.status_code == 200, priced.text
    assert priced.json()["covered_by_balance"] is False
    assert (unpaid.status_code, unpaid.json()["error"]["code"]) == (402, "insufficient_credits")


def test_av1_is_accepted(signup, settings):
    """AV1 (decoded by libdav1d) was refused as "libdav1d": the check now names the codec, not its decoder."""
    data = make_clip(Clip(codec="libsvtav1", audio=None, width=64, height=64))
    user = signup()
    with nothing_changes(user, settings):
        quoted = quote(user, data, name="clip.mp4")
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["video"]["frames"] == 24
    job = submit_video(user, data)
    assert job.status_code == 202, job.text
    assert job.json()["credits_charged"] == quoted.json()["credits"]
