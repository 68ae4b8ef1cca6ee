"""Keeping flat areas exactly flat: GAN models add faint noise and drift to large uniform regions.

Wherever the input is uniform over a 5x5 neighbourhood (within one 8-bit step), the output takes the input's
own value, so white stays 255 and a flat colour stays flat; textured areas keep the model's result.
"""

from __future__ import annotations

import numpy as np

_RADIUS = 2
_TOLERANCE = 1.0 / 255.0


def _local_range(image: np.ndarray) -> np.ndarray:
    """Max minus min over a (2r+1)^2 window, across all channels, with edge replication."""
    padded = np.pad(image, ((_RADIUS, _RADIUS), (_RADIUS, _RADIUS), (0, 0)), mode="edge")
    height, width = image.shape[:2]
    high = np.full(image.shape, -np.inf, dtype=np.float32)
    low = np.full(image.shape, np.inf, dtype=np.float32)
    for dy in range(2 * _RADIUS + 1):
        for dx in range(2 * _RADIUS + 1):
            window = padded[dy : dy + height, dx : dx + width]
            np.maximum(high, window, out=high)
            np.minimum(low, window, out=low)
    spread: np.ndarray = (high - low).max(axis=2)
    return spread


def flat_mask(source: np.ndarray) -> np.ndarray | None:
    """Where the source is flat (H x W bool), or None where nothing is."""
    flat = _local_range(source) <= _TOLERANCE
    return flat if flat.any() else None


def keep_flat_rows(
    source: np.ndarray, flat: np.ndarray | None, rows: np.ndarray, row0: int, scale: int
) -> np.ndarray:
    """Rows [row0, row0 + len(rows)) of a `scale`x upscale, given the source value where it is flat."""
    if flat is None:
        return rows
    src0, src1 = row0 // scale, (row0 + len(rows) - 1) // scale + 1
    offset = row0 - src0 * scale
    mask = np.repeat(np.repeat(flat[src0:src1], scale, axis=0), scale, axis=1)[offset : offset + len(rows)]
    if mask.any():
        nearest = np.repeat(np.repeat(source[src0:src1], scale, axis=0), scale, axis=1)
        rows[mask] = nearest[offset : offset + len(rows)][mask]
    return rows
