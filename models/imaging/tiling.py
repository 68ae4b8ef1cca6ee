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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch

from models.spec import progress_span

Region = tuple[int, int, int, int]
"""Rows [y0, y1) and columns [x0, x1) of a window, in input pixels."""

TensorBand = tuple[int, torch.Tensor]
"""A band on the device it was made on: its first row in the whole image, and its rows (n x W x C float32)."""


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


@dataclass(frozen=True)
class RegionNetwork:
    """A network that computes only the part of each window's output that the tiling keeps.

    `run(windows, regions)` takes N x H x W x C windows (a tensor on the image's device) and one `Region` of
    each, and returns the output of each region ((y1 - y0) x scale rows, (x1 - x0) x scale columns, on the
    same device): a network whose last layers see only a few pixels can skip most of the context's output
    (models/runtimes/spandrel_upscaler.py).
    """

    run: Callable[[torch.Tensor, Sequence[Region]], Sequence[torch.Tensor]]


Network = Callable[[torch.Tensor], torch.Tensor] | RegionNetwork
"""N x H x W x C windows to N x sH x sW x C' outputs (tensors on the image's device), or a `RegionNetwork`."""


def _count(length: int, tile: int, pad: int) -> int:
    """How many cores `_cuts` makes along an axis."""
    if length <= tile + 2 * pad:
        return 1
    if length <= 2 * (tile + pad):
        return 2
    return math.ceil(length / tile)


def _cuts(length: int, tile: int, pad: int) -> list[int]:
    """Boundaries of near-equal cores (no sliver of a last tile), as few as windows of tile + 2 x pad allow.

    Inner cores are at most `tile`; a core at an image edge needs context on one side only, so one window
    covers up to tile + 2 x pad and two cover up to 2 x (tile + pad): an image a little larger than a tile
    runs once or twice, not four times over.
    """
    count = _count(length, tile, pad)
    return [round(i * length / count) for i in range(count + 1)]


def _sides(tile: int | tuple[int, int]) -> tuple[int, int]:
    return (tile, tile) if isinstance(tile, int) else tile


def tile_grid(height: int, width: int, tile: int | tuple[int, int], pad: int) -> list[Tile]:
    """Cover an image with cores (inner ones at most `tile`, or rows x columns), in windows of one size.

    A window is the core plus `pad` pixels of context on every side, shifted inward at the image's borders
    (so it keeps at least that context wherever the image has it), and never larger than the image. Equal
    windows can be stacked and run as one batch.
    """
    tile_h, tile_w = _sides(tile)
    if min(tile_h, tile_w) < 1 or pad < 0:
        raise ValueError("tile must be >= 1 and pad >= 0")
    window_h, window_w = min(height, tile_h + 2 * pad), min(width, tile_w + 2 * pad)
    rows, cols = _cuts(height, tile_h, pad), _cuts(width, tile_w, pad)
    grid = []
    for y0, y1 in pairwise(rows):
        py0 = min(max(0, y0 - pad), height - window_h)
        for x0, x1 in pairwise(cols):
            px0 = min(max(0, x0 - pad), width - window_w)
            grid.append(Tile(y0, y1, x0, x1, py0, py0 + window_h, px0, px0 + window_w))
    return grid


def work_amplification(grid: Sequence[Tile]) -> float:
    """Window pixels run per image pixel: what tiling costs the network (1.0 for one whole-image pass)."""
    window = sum((t.py1 - t.py0) * (t.px1 - t.px0) for t in grid)
    return window / sum((t.y1 - t.y0) * (t.x1 - t.x0) for t in grid)


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


def _axis(length: int, wanted: int, pad: int, minimum: int, multiple_of: int) -> tuple[int, int, int]:
    """(cores, core size, window) along an axis cut into about `wanted` cores, windows fitted to the rule."""
    if wanted == 1:
        tile = max(1, length - 2 * pad)
    elif wanted == 2:
        tile = max(1, -(-length // 2) - pad)
    else:
        tile = -(-length // wanted)
    tile = fit_tile(tile, pad, minimum, multiple_of)
    return _count(length, tile, pad), tile, min(length, tile + 2 * pad)


def _fewest_cores(
    length: int, pad: int, max_window: int, minimum: int, multiple_of: int, smallest: int
) -> tuple[int, int, int] | None:
    """The fewest cores along an axis whose windows are at most `max_window`, or None if none are."""
    if max_window >= length:
        return _axis(length, 1, pad, minimum, multiple_of)
    wanted = 2 if -(-length // 2) + pad <= max_window else math.ceil(length / max(1, max_window - 2 * pad))
    while wanted <= max(2, -(-length // smallest)):
        cores, tile, window = _axis(length, wanted, pad, minimum, multiple_of)
        if window <= max_window:
            return cores, tile, window
        wanted += 1
    return None


def plan_tiles(
    height: int,
    width: int,
    pad: int,
    max_window_pixels: int,
    minimum: int = 0,
    multiple_of: int = 1,
    square: bool = False,
    smallest: int = 32,
) -> tuple[int, int]:
    """Core sizes (rows, columns) whose grid runs the fewest window pixels, no window above the budget.

    Every row count is tried with the fewest columns its windows leave room for, so the plan may be one
    whole-image window, full-width strips (context above and below only), columns or a grid: a 512 x 512
    image with 64 pixels of context runs as one window where 256-pixel tiles ran four 384 x 384 windows
    (2.25x its pixels). Cores stay at least `smallest` pixels unless the image is smaller; when no window
    with such a core fits the budget, the smallest square tile is returned. Square windows for a square rule.
    """
    best: tuple[int, int, int, int] | None = None  # pixels run, windows, core rows, core columns
    for wanted in range(1, max(1, -(-height // smallest)) + 1):
        rows, tile_h, window_h = _axis(height, wanted, pad, minimum, multiple_of)
        if square:
            cols, tile_w, window_w = _count(width, tile_h, pad), tile_h, tile_h + 2 * pad
            window_h = tile_h + 2 * pad
        else:
            found = _fewest_cores(width, pad, max_window_pixels // window_h, minimum, multiple_of, smallest)
            if found is None:
                continue
            cols, tile_w, window_w = found
        if window_h * window_w > max_window_pixels:
            continue
        plan = (rows * window_h * cols * window_w, rows * cols, tile_h, tile_w)
        best = plan if best is None else min(best, plan)
    if best is None:
        side = fit_tile(smallest, pad, minimum, multiple_of)
        return side, side
    return best[2], best[3]


def crop_bands(bands: Iterable[TensorBand], height: int, width: int) -> Iterator[TensorBand]:
    """The top-left height x width of a banded image: the output of what `padded_size` added is dropped."""
    for row0, rows in bands:
        if row0 < height:
            yield row0, rows[: height - row0, :width].contiguous()


def _ramp(start: int, end: int, length: int, band: int, scale: int) -> tuple[int, int, np.ndarray]:
    """Output span and weights along one axis for a core [start, end) of an axis `length` long.

    The weights are one except for `band` x `scale` ramped values at each end that has a neighbour.
    """
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


@dataclass(frozen=True)
class _Fade:
    """One axis of a tile's paste: its weights on the device, and where they ramp up, are one and ramp down
    (slices of the output span)."""

    weights: torch.Tensor
    lead: slice
    ones: slice
    trail: slice

    @classmethod
    def of(cls, weights: np.ndarray, device: torch.device) -> _Fade:
        ones = np.flatnonzero(weights == 1.0)
        size = len(weights)
        if not len(ones):
            lead, middle, trail = slice(0, size), slice(0, 0), slice(size, size)
        else:
            lead, middle, trail = slice(0, ones[0]), slice(ones[0], ones[-1] + 1), slice(ones[-1] + 1, size)
        return cls(torch.from_numpy(weights).to(device), lead, middle, trail)


def _paste(target: torch.Tensor, part: torch.Tensor, fy: _Fade, fx: _Fade) -> None:
    """Add part x (wy outer wx) into target, where the weights are one a plain copy.

    Only the cross-fade strips are shared with neighbouring tiles; elsewhere a tile writes alone, so its
    output is copied once instead of weighted into a temporary and added.
    """
    wy, wx = fy.weights, fx.weights
    target[fy.ones, fx.ones] = part[fy.ones, fx.ones]
    for ys in (fy.lead, fy.trail):
        if ys.stop > ys.start:
            target[ys] += part[ys] * (wy[ys, None, None] * wx[None, :, None])
    for xs in (fx.lead, fx.trail):
        if xs.stop > xs.start:
            target[fy.ones, xs] += part[fy.ones, xs] * wx[None, xs, None]


def _zeros(shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """A float32 buffer of zeros. On the CPU through numpy's calloc: its pages stay unmapped until written,
    where torch.zeros writes every one at once (100-150 MB more at a job's peak, measured)."""
    if device.type == "cpu":
        return torch.from_numpy(np.zeros(shape, np.float32))
    return torch.zeros(shape, dtype=torch.float32, device=device)


def _whole_windows(network: Callable[[torch.Tensor], torch.Tensor], scale: int) -> RegionNetwork:
    """A plain network as a `RegionNetwork`: it runs every window whole and its regions are cut out."""

    def run(windows: torch.Tensor, regions: Sequence[Region]) -> list[torch.Tensor]:
        results = network(windows)
        if results.shape[0] != len(regions):
            raise RuntimeError(f"network returned {results.shape[0]} tiles for {len(regions)}")
        return [
            result[y0 * scale : y1 * scale, x0 * scale : x1 * scale]
            for result, (y0, y1, x0, x1) in zip(results, regions, strict=True)
        ]

    return RegionNetwork(run)


def tiled_bands(
    image: torch.Tensor,
    network: Network,
    *,
    scale: int,
    out_channels: int,
    tile: int | tuple[int, int],
    pad: int,
    feather: int = 0,
    batch: int = 1,
    progress: Callable[[float], None] | None = None,
    within: Callable[[Callable[[float], None] | None], None] | None = None,
) -> Iterator[TensorBand]:
    """Apply `network` (N x H x W x C -> N x sH x sW x out_channels) to batches of tiles; yield output bands.

    Everything stays on the image's device: windows are cut from it and stacked there, the network's output
    is cross-faded into a band there, and bands leave as float32 tensors on it. A band is yielded as soon
    as every tile that touches its rows has run, so memory holds one row of tiles' output and one batch of
    windows, never the whole output. `feather` (input pixels, even, at most 2 x pad) is the width of the
    cross-fade band across each inner tile edge.

    `progress` hears the share of windows done after each batch. `within`, where the network can say how far
    into a batch it is, is handed before each batch the progress callback for that batch's share (it takes
    the fraction of the batch done), so a one-window image still moves; the caller hands it None once the
    pass ends.
    """
    height, width = image.shape[:2]
    device = image.device
    run = network.run if isinstance(network, RegionNetwork) else _whole_windows(network, scale).run
    grid = tile_grid(height, width, tile, pad)
    smallest_core = min(min(t.y1 - t.y0, t.x1 - t.x0) for t in grid)
    band = min(feather, 2 * pad, smallest_core) // 2 * 2
    spans = {t.y0: _ramp(t.y0, t.y1, height, band, scale)[:2] for t in grid}
    fades: dict[tuple[int, int, int], tuple[int, int, _Fade]] = {}

    def fade(start: int, end: int, length: int) -> tuple[int, int, _Fade]:
        key = (start, end, length)
        if key not in fades:
            lo, hi, weights = _ramp(start, end, length, band, scale)
            fades[key] = (lo, hi, _Fade.of(weights, device))
        return fades[key]

    rows_held = max(hi - lo for lo, hi in spans.values())
    held = _zeros((rows_held, width * scale, out_channels), device)
    base = 0  # output row of held[0]
    row_y0 = 0  # the tile row now being filled
    step = max(1, batch)
    for start in range(0, len(grid), step):
        group = grid[start : start + step]
        windows = torch.stack([image[t.py0 : t.py1, t.px0 : t.px1] for t in group])
        ramps = [(fade(t.y0, t.y1, height), fade(t.x0, t.x1, width)) for t in group]
        regions = [
            (oy0 // scale - t.py0, oy1 // scale - t.py0, ox0 // scale - t.px0, ox1 // scale - t.px0)
            for t, ((oy0, oy1, _), (ox0, ox1, _)) in zip(group, ramps, strict=True)
        ]
        if progress is not None and within is not None:
            # The batch's own end is reported below, once its output is in.
            within(progress_span(progress, start / len(grid), len(group) / len(grid), end=0.99))
        parts = run(windows, regions)
        if len(parts) != len(group):
            raise RuntimeError(f"network returned {len(parts)} tiles for {len(group)}")
        for t, ((oy0, oy1, fy), (ox0, ox1, fx)), part in zip(group, ramps, parts, strict=True):
            if t.y0 != row_y0:
                # Every tile of the previous row has run: rows above this row's span are final. They leave
                # as a view of this buffer, and the rows still open move to a fresh one.
                final = spans[t.y0][0]
                kept = spans[row_y0][1] - final
                fresh = _zeros(tuple(held.shape), device)
                fresh[:kept] = held[final - base : final - base + kept]
                yield base, held[: final - base]
                held, base, row_y0 = fresh, final, t.y0
            _paste(held[oy0 - base : oy1 - base, ox0:ox1], part.float(), fy, fx)
        if progress is not None:
            progress((start + len(group)) / len(grid))
    yield base, held[: height * scale - base]
