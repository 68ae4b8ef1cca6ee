"""Classical interpolation: the cheap, instant baseline models."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from models.imaging.bands import Band, band_rows, resize_rows
from models.imaging.resample import Filter
from models.spec import ProgressFn


class ClassicalUpscaler:
    """Resizes with one of Pillow's filters in 32-bit float, a band of output rows at a time."""

    def __init__(self, method: Filter) -> None:
        self.method = method

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]:
        height, width = rgb.shape[:2]
        out_h, out_w = height * scale, width * scale
        step = band_rows(out_w, rgb.shape[2])
        for row0 in range(0, out_h, step):
            row1 = min(out_h, row0 + step)
            yield row0, resize_rows(rgb, out_w, out_h, row0, row1, self.method)
            progress(row1 / out_h)
