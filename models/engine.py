"""The inference entry point: any channel layout in, exactly scale x the size out, models cached."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from models.registry import ProgressFn, Upscaler, get_model
from models.resample import Filter, resize


@lru_cache(maxsize=8)
def load_upscaler(model_id: str, models_dir: Path) -> Upscaler:
    """Load a model's weights once per worker process."""
    return get_model(model_id).load(models_dir)


def upscale(
    image: np.ndarray, model_id: str, scale: int, models_dir: Path, progress: ProgressFn
) -> np.ndarray:
    """Upscale an HxWxC float32 image in [0, 1], C in 1..4 (gray, gray+alpha, RGB, RGBA).

    The model sees RGB; gray is expanded and averaged back, alpha is resized with bicubic (a soft mask
    upscales cleanly with it, and a model trained on photos would invent texture in it).
    """
    spec = get_model(model_id)
    if scale not in spec.scales:
        raise ValueError(f"model {model_id} does not support scale {scale}")
    height, width, channels = image.shape
    colour_channels = 1 if channels in (1, 2) else 3
    colour = image[:, :, :colour_channels]
    rgb = np.repeat(colour, 3, axis=2) if colour_channels == 1 else colour
    out = load_upscaler(model_id, models_dir).upscale(
        np.ascontiguousarray(rgb, dtype=np.float32), scale, progress
    )
    if out.shape != (height * scale, width * scale, 3):
        raise RuntimeError(f"model {model_id} returned shape {out.shape} for {image.shape} at x{scale}")
    if colour_channels == 1:
        out = out.mean(axis=2, keepdims=True)
    if channels in (2, 4):
        alpha = resize(image[:, :, -1:], width * scale, height * scale, Filter.BICUBIC)
        out = np.concatenate([out, alpha], axis=2)
    result: np.ndarray = np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
    return result
