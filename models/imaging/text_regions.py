"""Where an image holds text: a soft mask from block statistics, no weights (classical, offline).

Printed and rendered text, looked at in blocks of a few pixels, has what photographed texture lacks: two
levels (paper and ink) with little between them, one of them flat, and many sharp steps between the two.
Fur, bark and foliage have as many steps, but their levels spread over the whole range. A block is text-like
when its contrast is high, most of its pixels sit near one of its two extremes, and the brighter or darker of
those is flat; text comes in lines, so a block counts only with text-like neighbours along its row. The mask
is those blocks grown by one, then feathered, so what runs there meets what runs elsewhere without a seam.

Tuned on drawn pages (bench/perception_text.py: recall, the share of the page's ink it covers) and on the
perception bench's held-out photo crops (how much of a photo it marks), docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 8  # input pixels a side: a line of 6-12 px type spans one or two blocks
MIN_CONTRAST = 70.0  # 8-bit levels between the block's 5th and 95th percentiles
NEAR = 0.22  # a pixel is near an extreme within this share of the contrast
TWO_LEVELS = 0.62  # the share of pixels near either extreme
FLAT_SIDE = 0.3  # the share of pixels near the flatter extreme (the paper)
MIN_RUN = 3  # text-like blocks in a row, a word's width at least
MIN_CROSSINGS = 1.25  # ink-paper changes per row and column of a block, on average
STRIPE_ROWS = 16  # block rows measured at once


@dataclass(frozen=True)
class TextRegions:
    """A soft mask (float32, the input's size, 1 on text) and the box that holds all of it (input pixels,
    y0, y1, x0, x1), or no box when there is no text."""

    mask: np.ndarray
    box: tuple[int, int, int, int] | None

    @property
    def share(self) -> float:
        """The share of the image the box covers."""
        if self.box is None:
            return 0.0
        y0, y1, x0, x1 = self.box
        return (y1 - y0) * (x1 - x0) / float(self.mask.shape[0] * self.mask.shape[1])


def _luma(rgb: np.ndarray) -> np.ndarray:
    """8-bit luma (float32) of float RGB in [0, 1] (gray passes through), built in place."""
    luma: np.ndarray
    if rgb.ndim == 2:
        luma = np.multiply(rgb, 255.0, dtype=np.float32)
        return luma
    if rgb.shape[2] < 3:
        luma = np.multiply(rgb[:, :, 0], 255.0, dtype=np.float32)
        return luma
    luma = np.multiply(rgb[:, :, 0], 0.299 * 255.0, dtype=np.float32)
    luma += rgb[:, :, 1] * np.float32(0.587 * 255.0)
    luma += rgb[:, :, 2] * np.float32(0.114 * 255.0)
    return luma


def _text_blocks(luma: np.ndarray) -> np.ndarray:
    """Bool per BLOCK x BLOCK block: text-like by its levels; a stripe of blocks at a time, so what the
    statistics copy stays a few MB whatever the image's size."""
    rows = luma.shape[0] // BLOCK
    stripes = [
        _stripe_blocks(luma[row * BLOCK : min(row + STRIPE_ROWS, rows) * BLOCK])
        for row in range(0, rows, STRIPE_ROWS)
    ]
    return np.concatenate(stripes, axis=0) if stripes else np.zeros((0, luma.shape[1] // BLOCK), bool)


def _stripe_blocks(luma: np.ndarray) -> np.ndarray:
    rows, cols = luma.shape[0] // BLOCK, luma.shape[1] // BLOCK
    grid = luma[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3)
    blocks = grid.reshape(rows, cols, BLOCK * BLOCK)
    low = np.percentile(blocks, 5, axis=2)
    high = np.percentile(blocks, 95, axis=2)
    contrast = high - low
    reach = (NEAR * np.maximum(contrast, 1.0))[:, :, None]
    near_low = np.mean(blocks <= low[:, :, None] + reach, axis=2)
    near_high = np.mean(blocks >= high[:, :, None] - reach, axis=2)
    # Strokes: ink and paper alternate several times across a block; a photo's edge between two flat
    # areas crosses once per row or column.
    inked = (blocks > ((low + high) / 2)[:, :, None]).reshape(rows, cols, BLOCK, BLOCK)
    across = np.count_nonzero(np.diff(inked, axis=3), axis=(2, 3))
    down = np.count_nonzero(np.diff(inked, axis=2), axis=(2, 3))
    crossings = (across + down) / (2.0 * BLOCK)
    found: np.ndarray = (
        (contrast >= MIN_CONTRAST)
        & (near_low + near_high >= TWO_LEVELS)
        & (np.maximum(near_low, near_high) >= FLAT_SIDE)
        & (crossings >= MIN_CROSSINGS)
    )
    return found


def _in_runs(found: np.ndarray) -> np.ndarray:
    """Keep blocks in horizontal runs of at least MIN_RUN (text comes in lines): a block is in such a run
    exactly when some MIN_RUN consecutive blocks around it are all found."""
    cols = found.shape[1]
    kept = np.zeros_like(found)
    if cols < MIN_RUN:
        return kept
    windows = np.ones((found.shape[0], cols - MIN_RUN + 1), bool)
    for offset in range(MIN_RUN):
        windows &= found[:, offset : offset + cols - MIN_RUN + 1]
    for offset in range(MIN_RUN):
        kept[:, offset : offset + windows.shape[1]] |= windows
    return kept


def _grow(found: np.ndarray) -> np.ndarray:
    """Each block and its eight neighbours."""
    padded = np.pad(found, 1)
    grown = np.zeros_like(found)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            grown |= padded[dy : dy + found.shape[0], dx : dx + found.shape[1]]
    return grown


def find_text(rgb: np.ndarray) -> TextRegions:
    """The text regions of an HxWxC float image in [0, 1]: a feathered mask and its bounding box."""
    height, width = rgb.shape[:2]
    luma = _luma(rgb)
    if min(height, width) < BLOCK * MIN_RUN:
        return TextRegions(np.zeros((height, width), np.float32), None)
    # Larger type is found where it is small: the same blocks on the image shrunk 2 and 4 times.
    mask = np.zeros((height, width), np.float32)
    for factor in (1, 2, 4):
        if min(height, width) // factor < BLOCK * MIN_RUN:
            break
        shrunk = _shrink(luma, factor)
        blocks = _grow(_in_runs(_text_blocks(shrunk)))
        if blocks.any():
            side = BLOCK * factor
            cells = np.repeat(np.repeat(blocks.astype(np.float32), side, axis=0), side, axis=1)
            cells = cells[:height, :width]
            # The ragged right and bottom edges take their neighbour's value.
            cells = np.pad(cells, ((0, height - cells.shape[0]), (0, width - cells.shape[1])), mode="edge")
            np.maximum(mask, cells, out=mask)
    if not mask.any():
        return TextRegions(mask, None)
    # Feathered over half a block with a box blur done twice (a soft ramp, cheap on any size).
    for _ in range(2):
        mask = _box_blur(mask, BLOCK // 2)
    ys, xs = np.nonzero(mask > 0.01)
    box = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
    return TextRegions(np.clip(mask, 0.0, 1.0).astype(np.float32), box)


def _shrink(luma: np.ndarray, factor: int) -> np.ndarray:
    """The luma averaged over `factor` x `factor` cells."""
    if factor == 1:
        return luma
    rows, cols = luma.shape[0] // factor, luma.shape[1] // factor
    cells = luma[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    shrunk: np.ndarray = cells.mean(axis=(1, 3))
    return shrunk


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """A separable box blur of `radius` pixels each side, edges extended."""
    size = 2 * radius + 1
    for axis in (0, 1):
        padded = np.pad(image, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        summed = np.cumsum(padded, axis=axis, dtype=np.float64)
        summed = np.concatenate([np.zeros_like(np.take(summed, [0], axis=axis)), summed], axis=axis)
        upper = np.take(summed, np.arange(size, summed.shape[axis]), axis=axis)
        lower = np.take(summed, np.arange(0, summed.shape[axis] - size), axis=axis)
        image = ((upper - lower) / size).astype(np.float32)
    return image
