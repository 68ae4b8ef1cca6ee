"""Tile grids for running a network over an image in bounded memory with exact, seam-free results.

Each tile's core is extended by `pad` pixels of real context on every side that has any; the network runs
on the padded tile and only the core of its output is kept. When `pad` covers the network's receptive
field radius the tiled result equals the untiled one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tile:
    """A core region [y0, y1) x [x0, x1) and the padded region around it, in input pixels."""

    y0: int
    y1: int
    x0: int
    x1: int
    py0: int
    py1: int
    px0: int
    px1: int


def tile_grid(height: int, width: int, tile: int, pad: int) -> list[Tile]:
    """Cover an image with cores of at most tile x tile, each padded by up to `pad` pixels of context."""
    if tile < 1 or pad < 0:
        raise ValueError("tile must be >= 1 and pad >= 0")
    grid = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            grid.append(
                Tile(
                    y0,
                    y1,
                    x0,
                    x1,
                    max(0, y0 - pad),
                    min(height, y1 + pad),
                    max(0, x0 - pad),
                    min(width, x1 + pad),
                )
            )
    return grid


def run_tiled(
    image: np.ndarray,
    network: Callable[[np.ndarray], np.ndarray],
    *,
    scale: int,
    out_channels: int,
    tile: int,
    pad: int,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Apply `network` (HxWxC -> sH x sW x out_channels) tile by tile and assemble the full output."""
    height, width = image.shape[:2]
    out = np.empty((height * scale, width * scale, out_channels), dtype=np.float32)
    grid = tile_grid(height, width, tile, pad)
    for done, t in enumerate(grid, start=1):
        result = network(image[t.py0 : t.py1, t.px0 : t.px1])
        oy, ox = (t.y0 - t.py0) * scale, (t.x0 - t.px0) * scale
        core = result[oy : oy + (t.y1 - t.y0) * scale, ox : ox + (t.x1 - t.x0) * scale]
        out[t.y0 * scale : t.y1 * scale, t.x0 * scale : t.x1 * scale] = core
        if progress is not None:
            progress(done / len(grid))
    return out
