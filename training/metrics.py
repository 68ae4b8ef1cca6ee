"""Image quality measures shared by training, the bench scripts and the tests."""

from __future__ import annotations

import math

import numpy as np


def psnr(estimate: np.ndarray, target: np.ndarray, border: int) -> float:
    """PSNR in dB on 0..255 values, with `border` pixels cropped on every side as is conventional."""
    inner = (slice(border, -border), slice(border, -border)) if border else (slice(None), slice(None))
    diff = (np.clip(estimate[inner], 0.0, 1.0).astype(np.float64) - target[inner]) * 255.0
    return float(10.0 * math.log10(255.0**2 / np.mean(diff**2)))
