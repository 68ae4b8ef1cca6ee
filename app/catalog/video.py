"""What /v1/models says about video: the limits, formats and encoding cost, and each model's steadiness.

Flicker is measured by `python -m bench.video flicker` (docs/benchmarks.md): a static scene with camera
noise (sigma 2 levels) goes through each model at x2, and the mean frame-to-frame change of the output is
divided by that of the input upscaled with bicubic. 1.0 adds nothing; GAN models turn the noise into
texture that changes from frame to frame.
"""

from __future__ import annotations

from app.catalog.schemas import VideoOut
from app.config import Settings
from app.estimates.service import VIDEO_ENCODE_SECONDS_PER_MEGAPIXEL
from app.jobs.video_probe import VIDEO_CODECS, VIDEO_OUTPUT_FORMATS

# A model is called stable on video up to this flicker: half again the input's own change is where
# the shimmer of flat areas becomes visible on playback (docs/benchmarks.md).
STABLE_FLICKER = 1.5
VIDEO_FLICKER: dict[str, float] = {}
INPUT_FORMATS = ["mp4", "mov", "webm", "mkv"]


def video_terms(settings: Settings, model_id: str) -> VideoOut:
    flicker = VIDEO_FLICKER.get(model_id)
    return VideoOut(
        max_seconds=settings.max_video_seconds,
        max_frames=settings.max_video_frames,
        max_output_pixels_per_frame=settings.max_video_output_pixels,
        input_formats=INPUT_FORMATS,
        codecs=list(VIDEO_CODECS),
        output_formats=list(VIDEO_OUTPUT_FORMATS),
        encode_seconds_per_output_megapixel=dict(VIDEO_ENCODE_SECONDS_PER_MEGAPIXEL),
        temporal_flicker=flicker,
        stable=None if flicker is None else flicker <= STABLE_FLICKER,
    )
