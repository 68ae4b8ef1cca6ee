"""Byte-level fuzzing of the video path (hypothesis, bounded): every mutated clip is refused with a clear
4xx before any charge, or it decodes and the worker writes every frame it promised (or fails it clearly)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from app.errors import DomainError
from app.media.video_probe import (
    VideoLimits,
    check_video_decodes,
    read_video_header,
    video_container,
)
from app.media.video_upscale import VideoTarget, upscale_video
from tests.mutations import mutated
from tests.video.clips import Clip, make_clip

pytestmark = pytest.mark.slow
LIMITS = VideoLimits(max_seconds=60, max_frames=1000, max_output_pixels=10**8)
SEEDS = [
    make_clip(Clip(frames=8)),
    make_clip(Clip(frames=8, container="webm", codec="libvpx-vp9", audio="libopus")),
    make_clip(Clip(frames=8, container="webm", codec="libvpx", audio=None)),
]


def _nearest_x2(pixels: np.ndarray, progress) -> np.ndarray:
    return np.rint(pixels.repeat(2, 0).repeat(2, 1) * 255).astype(np.uint8)


@given(data=mutated(SEEDS, max_edits=4))
@settings(max_examples=120, deadline=10000, database=None, suppress_health_check=list(HealthCheck))
def test_mutated_clips_are_refused_clearly_or_upscaled_whole(data: bytes):
    container = video_container(data)
    if container is None:
        return  # not taken for a video: the image path refuses it (tests/hardening/test_decoder_fuzz.py)
    try:
        info = read_video_header(data, container, LIMITS)
        check_video_decodes(data, info)
    except DomainError as refused:
        assert 400 <= refused.status_code < 500 and refused.code and refused.detail
        return
    output = "webm" if info.format == "webm" else "mp4"
    with tempfile.TemporaryDirectory() as folder:
        try:
            written = upscale_video(
                data,
                info,
                2,
                VideoTarget(output, 80, "default"),
                Path(folder) / "out",
                _nearest_x2,
                lambda _: None,
            )
        except DomainError as refused:  # damage only the muxer meets (a broken audio packet)
            assert 400 <= refused.status_code < 500 and refused.code
            return
    assert written == info.frames
