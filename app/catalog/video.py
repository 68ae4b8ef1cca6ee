"""What /v1/models says about video: the limits, formats and encoding cost, and each model's steadiness.

Flicker is measured by `python -m bench.video flicker` (docs/benchmarks.md): a still shot (scikit-image's
astronaut, 128x96) with fresh camera noise in every frame (sigma 2 levels) goes through each model at x2,
and the mean frame-to-frame change of the output is divided by the input's own (nearest keeps it exactly:
1.0). Under 1 a model smooths the noise away; over 1 it turns it into detail that changes every frame.
"""

from __future__ import annotations

from app.catalog.schemas import VideoOut
from app.config import Settings
from app.estimates.service import VIDEO_ENCODE_SECONDS_PER_MEGAPIXEL
from app.media.video_probe import VIDEO_CODECS, VIDEO_OUTPUT_FORMATS
from models.zoo import builtin_facts

# Stable: a model adds at most a tenth to the input's own frame-to-frame change. RealSR (1.74, trained
# to turn camera noise into detail) and the waifu2x models without denoise (1.16-1.23) shimmer; every
# other model measured 1.0 or less.
STABLE_FLICKER = 1.1
# Measured on the 2-core VM (fp32, CPU), 6 frames, kept in the zoo; an operator's own model is not measured
# (null).
VIDEO_FLICKER: dict[str, float] = {
    model_id: measured.flicker
    for model_id, measured in builtin_facts().items()
    if measured.flicker is not None
}
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
