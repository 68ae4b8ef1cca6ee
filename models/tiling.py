"""Tile grids for running a network over an image in bounded memory without visible seams.

Each tile's core is extended by at least `pad` pixels of real context on every side that has any; the network
runs on the padded window, and only the core of its output (plus half a `feather` band across each inner edge)
is kept. Inside the bands neighbouring tiles are cross-faded with complementary linear ramps that sum to one,
so what remains of the difference between two tiles' views becomes a gradient instead of a step. Where `pad`
covers the network's receptive field the tiled result equals the untiled one; for Real-ESRGAN the residual
difference is measured in tests/models/test_engine.py.

Some networks accept only some input sizes (spandrel's `SizeRequirements`: a minimum side, a multiple, a
square). `fit_tile` sizes the windows to the rule, `padded_size` says how far to pad an image smaller than
a window, and `crop_bands` cuts the padding's output off again, so the result stays scale x the input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from models.bands import Band


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


def _cuts(length: int, tile: int, pad: int) -> list[int]:
    """Boundaries of near-equal cores (no sliver of a last tile), as few as windows of tile + 2 x pad allow.

    Inner cores are at most `tile`; a core at an image edge needs context on one side only, so one window
    covers up to tile + 2 x pad and two cover up to 2 x (tile + pad): an image a little larger than a tile
    runs once or twice, not four times over.
    """
    if length <= tile + 2 * pad:
        count = 1
    elif length <= 2 * (tile + pad):
        count = 2
    else:
        count = math.ceil(length / tile)
    return [round(i * length / count) for i in range(count + 1)]


def tile_grid(height: int, width: int, tile: int, pad: int) -> list[Tile]:
    """Cover an image with cores (inner ones at most tile x tile), each inside a window of one size for all.

    A window is the core plus `pad` pixels of context on every side, shifted inward at the image's borders
    (so it keeps at least that context wherever the image has it), and never larger than the image. Equal
    windows can be stacked and run as one batch.
    """
    if tile < 1 or pad < 0:
        raise ValueError("tile must be >= 1 and pad >= 0")
    window_h, window_w = min(height, tile + 2 * pad), min(width, tile + 2 * pad)
    rows, cols = _cuts(height, tile, pad), _cuts(width, tile, pad)
    grid = []
    for y0, y1 in pairwise(rows):
        py0 = min(max(0, y0 - pad), height - window_h)
        for x0, x1 in pairwise(cols):
            px0 = min(max(0, x0 - pad), width - window_w)
            grid.append(Tile(y0, y1, x0, x1, py0, py0 + window_h, px0, px0 + window_w))
    return grid


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def fit_tile(tile: int, pad: int, minimum: int = 0, multiple_of: int = 1) -> int:
    """The core side nearest above `tile` whose windows (core + 2 x pad) are a valid network input size."""
    return _round_up(max(tile + 2 * pad, minimum), multiple_of) - 2 * pad


def padded_size(
    height: int, width: int, window: int, minimum: int = 0, multiple_of: int = 1, square: bool = False
) -> tuple[int, int]:
    """The smallest image size, at least height x width, whose tile windows are all valid inputs.

    `tile_grid` makes windows of `window` pixels, or the image's side where that is shorter: a short side
    is padded up to the size rule, and for square inputs to the longer side (or the window, if shorter).
    `window` must come from `fit_tile`.
    """
    height = _round_up(max(height, minimum), multiple_of)
    width = _round_up(max(width, minimum), multiple_of)
    if square:
        side = min(window, max(height, width))
        height, width = max(height, side), max(width, side)
    return height, width


def crop_bands(bands: Iterable[Band], height: int, width: int) -> Iterator[Band]:
    """The top-left height x width of a banded image: the output of what `padded_size` added is dropped."""
    for row0, rows in bands:
        if row0 < height:
            yield row0, np.ascontiguousarray(rows[: height - row0, :width])


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


def tiled_bands(
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
) -> Iterator[Band]:
    """Apply `network` (N x H x W x C -> N x sH x sW x out_channels) to batches of tiles; yield output bands.

    A band is yielded as soon as every tile that touches its rows has run, so memory holds one row of
    tiles' output and one batch of windows, never the whole output. `feather` (input pixels, even, at most
    2 x pad) is the width of the cross-fade band across each inner tile edge.
    """
    height, width = image.shape[:2]
    grid = tile_grid(height, width, tile, pad)
    smallest_core = min(min(t.y1 - t.y0, t.x1 - t.x0) for t in grid)
    band = min(feather, 2 * pad, smallest_core) // 2 * 2
    spans = {t.y0: _ramp(t.y0, t.y1, height, band, scale)[:2] for t in grid}
    held = np.zeros((max(hi - lo for lo, hi in spans.values()), width * scale, out_channels), np.float32)
    base = 0  # output row of held[0]
    row_y0 = 0  # the tile row now being filled
    step = max(1, batch)
    for start in range(0, len(grid), step):
        group = grid[start : start + step]
        windows = np.stack([image[t.py0 : t.py1, t.px0 : t.px1] for t in group])
        results = network(windows)
        if results.shape[0] != len(group):
            raise RuntimeError(f"network returned {results.shape[0]} tiles for {len(group)}")
        for t, result in zip(group, results, strict=True):
            if t.y0 != row_y0:
                # Every tile of the previous row has run: rows above this row's span are final.
                final = spans[t.y0][0]
                yield base, held[: final - base].copy()
                kept = spans[row_y0][1] - final
                held[:kept] = held[final - base : final - base + kept]
                held[kept:] = 0
                base, row_y0 = final, t.y0
            oy0, oy1, wy = _ramp(t.y0, t.y1, height, band, scale)
            ox0, ox1, wx = _ramp(t.x0, t.x1, width, band, scale)
            part = result[
                oy0 - t.py0 * scale : oy1 - t.py0 * scale, ox0 - t.px0 * scale : ox1 - t.px0 * scale
            ]
            if band:
                held[oy0 - base : oy1 - base, ox0:ox1] += part * (wy[:, None, None] * wx[None, :, None])
            else:
                held[oy0 - base : oy1 - base, ox0:ox1] = part
        if progress is not None:
            progress((start + len(group)) / len(grid))
    yield base, held[: height * scale - base].copy()
