"""Tile grids for running a network over an image in bounded memory without visible seams.

Each tile's core is extended by at least `pad` pixels of real context on every side that has any; the network
runs on the padded window, and only the core of its output (plus half a `feather` band across each inner edge)
is kept. Inside the bands neighbouring tiles are cross-faded with complementary linear ramps that sum to one,
so what remains of the difference between two tiles' views becomes a gradient instead of a step. Where `pad`
covers the network's receptive field the tiled result equals the untiled one; for Real-ESRGAN the residual
difference is measured in tests/models/test_engine.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class Tile:
    """A core region [y0, y1) x [x0, x1) and the padded window around it, in input pixels."""

    y0: int
    y1: int
    x0: int
    x1: int
    py0: int
    py1: int
    px0: int
    px1: int


def _cuts(length: int, tile: int) -> list[int]:
    """Boundaries of near-equal cores of at most `tile` (no sliver of a last tile)."""
    count = math.ceil(length / tile)
    return [round(i * length / count) for i in range(count + 1)]


def tile_grid(height: int, width: int, tile: int, pad: int) -> list[Tile]:
    """Cover an image with cores of at most tile x tile, each inside a window of the same size for all tiles.

    A window is the core plus `pad` pixels of context on every side, shifted inward at the image's borders
    (so it keeps at least that context wherever the image has it), and never larger than the image. Equal
    windows can be stacked and run as one batch.
    """
    if tile < 1 or pad < 0:
        raise ValueError("tile must be >= 1 and pad >= 0")
    window_h, window_w = min(height, tile + 2 * pad), min(width, tile + 2 * pad)
    rows, cols = _cuts(height, tile), _cuts(width, tile)
    grid = []
    for y0, y1 in pairwise(rows):
        py0 = min(max(0, y0 - pad), height - window_h)
        for x0, x1 in pairwise(cols):
            px0 = min(max(0, x0 - pad), width - window_w)
            grid.append(Tile(y0, y1, x0, x1, py0, py0 + window_h, px0, px0 + window_w))
    return grid


def _ramp(start: int, end: int, length: int, band: int, scale: int) -> tuple[int, int, np.ndarray]:
    """Output span and weights along one axis for a core [start, end) of an axis `length` long."""
    half = band // 2
    lo = start - half if start > 0 else start
    hi = end + half if end < length else end
    weights = np.ones((hi - lo) * scale, dtype=np.float32)
    if band:
        ramp = (np.arange(band * scale, dtype=np.float32) + 0.5) / (band * scale)
        if start > 0:
            weights[: band * scale] = ramp
        if end < length:
            weights[-band * scale :] = ramp[::-1]
    return lo * scale, hi * scale, weights


def run_tiled(
    image: np.ndarray,
    network: Callable[[np.ndarray], np.ndarray],
    *,
    scale: int,
    out_channels: int,
    tile: int,
    pad: int,
    feather: int = 0,
    batch: int = 1,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Apply `network` (N x H x W x C -> N x sH x sW x out_channels) to batches of tiles; assemble the output.

    Only the output image and one batch of windows are in memory at a time. `feather` (input pixels, even,
    at most 2 x pad) is the width of the cross-fade band across each inner tile edge.
    """
    height, width = image.shape[:2]
    grid = tile_grid(height, width, tile, pad)
    smallest_core = min(min(t.y1 - t.y0, t.x1 - t.x0) for t in grid)
    band = min(feather, 2 * pad, smallest_core) // 2 * 2
    out = np.zeros((height * scale, width * scale, out_channels), dtype=np.float32)
    step = max(1, batch)
    for start in range(0, len(grid), step):
        group = grid[start : start + step]
        windows = np.stack([image[t.py0 : t.py1, t.px0 : t.px1] for t in group])
        results = network(windows)
        if results.shape[0] != len(group):
            raise RuntimeError(f"network returned {results.shape[0]} tiles for {len(group)}")
        for t, result in zip(group, results, strict=True):
            oy0, oy1, wy = _ramp(t.y0, t.y1, height, band, scale)
            ox0, ox1, wx = _ramp(t.x0, t.x1, width, band, scale)
            part = result[
                oy0 - t.py0 * scale : oy1 - t.py0 * scale, ox0 - t.px0 * scale : ox1 - t.px0 * scale
            ]
            if band:
                out[oy0:oy1, ox0:ox1] += part * (wy[:, None, None] * wx[None, :, None])
            else:
                out[oy0:oy1, ox0:ox1] = part
        if progress is not None:
            progress((start + len(group)) / len(grid))
    return out
