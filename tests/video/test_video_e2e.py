"""Done when: a 2-second clip with audio, sent over HTTP by `mindrender upscale` to a real service with
realesr-animevideov3 at x2, comes back as a video of twice the size, every frame, with the same frame
count, frame rate and audio; the price was shown before submitting and charged once."""

from __future__ import annotations

import pytest

from tests.client.test_cli import run_cli
from tests.video.clips import Clip, make_clip, probe

pytestmark = pytest.mark.slow


def test_a_clip_with_audio_comes_back_twice_the_size_through_the_cli(
    embedded_service, http_client_factory, tmp_path
):
    anonymous = http_client_factory(embedded_service.url)
    signed_up = anonymous.post(
        "/v1/accounts", json={"email": "film@example.com", "password": "correct horse"}
    )
    api_key = signed_up.json()["api_key"]
    api = http_client_factory(embedded_service.url, api_key)
    clip = tmp_path / "clip.mp4"
    data = make_clip(Clip(width=256, height=144, frames=48, fps=24))  # 2 s with an AAC track
    clip.write_bytes(data)
    out = tmp_path / "out"

    done = run_cli(
        "upscale", str(clip), "--model", "realesr-animevideov3", "--scale", "2", "--out", str(out),
        api_url=embedded_service.url, api_key=api_key,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    # 512x288 x 48 frames = 7.1 output megapixel-frames: 2 credits at 1 per 4 MP, quoted before the upload.
    quote = "clip.mp4: submitting, 256x144 -> 512x288, 48 frames, 2 credits"
    assert quote in done.stderr
    assert done.stderr.index(quote) < done.stderr.index("clip.mp4: queued")
    assert "1 file: 1 done; 2 credits spent" in done.stderr

    source, result = probe(data), probe((out / "clip_x2.mp4").read_bytes())
    assert result.frame_sizes == {(512, 288)}
    assert (result.frames, result.fps) == (source.frames, source.fps) == (48, 24)
    assert result.video_seconds == pytest.approx(source.video_seconds, abs=1e-3) == 2.0
    assert result.audio_codec == "aac"
    assert result.audio_seconds == pytest.approx(source.audio_seconds, abs=1e-3)

    job = api.get("/v1/jobs").json()["jobs"][0]
    assert (job["model"], job["scale"], job["status"], job["credits_charged"]) == (
        "realesr-animevideov3", 2, "succeeded", 2,
    )  # fmt: skip
    assert job["video"] == {"frames": 48, "fps": 24.0, "duration_seconds": 2.0}
    entries = api.get("/v1/account/ledger").json()["entries"]
    assert [(e["kind"], e["amount"]) for e in entries] == [("job_hold", -2), ("signup_grant", 10)]
    assert api.get("/v1/account").json()["credits_balance"] == 8
