"""Classical interpolation: the cheap, instant baseline models."""

from __future__ import annotations

import numpy as np

from models.registry import ProgressFn
from models.resample import Filter, resize


class ClassicalUpscaler:
    """Resizes with one of Pillow's filters in 32-bit float."""

    def __init__(self, method: Filter) -> None:
        self.method = method

    def upscale(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> np.ndarray:
        height, width = rgb.shape[:2]
        out = resize(rgb, width * scale, height * scale, self.method)
        progress(1.0)
        return out
