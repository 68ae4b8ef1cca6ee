"""Images as streams of row bands, so that no stage holds more than a band of a huge output in float.

A job may ask for up to `max_output_pixels` (200 MP by default). Held whole in float32 RGBA that is 3.2 GB
per copy, and a plain pipeline (model output, resize, flat guard, alpha, clip, quantise) makes several. Here
every stage consumes and yields `Band`s, top to bottom, and only the final integer image is held whole
(bench/memory.py measures it).

Resampling a band needs only the source rows under its filter's support: `resize_rows` crops those and
hands Pillow the exact sub-pixel box of the whole-image resize, so banded output equals the one-shot
resize (tests/models/test_bands.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

from models.imaging.resample import Filter, resize_region
from models.spec import Band as Band  # re-exported: bands are this module's subject

# Pillow's filter supports (half-widths in source pixels when upscaling), plus one row of margin.
_SUPPORT = {Filter.NEAREST: 1.0, Filter.BILINEAR: 2.0, Filter.BICUBIC: 3.0, Filter.LANCZOS: 4.0}
_BAND_BYTES = 32 * 2**20
Rows = TypeVar("Rows", np.ndarray, "torch.Tensor")


def band_rows(width: int, channels: int) -> int:
    """Rows per band that keep one float32 band near 32 MiB (at least 16)."""
    return max(16, _BAND_BYTES // max(1, width * channels * 4))


def in_bands_of(bands: Iterable[tuple[int, Rows]], rows: int) -> Iterator[tuple[int, Rows]]:
    """The same rows in bands of at most `rows` (views, not copies), numpy or torch."""
    for row0, band in bands:
        for start in range(0, len(band), rows):
            yield row0 + start, band[start : start + rows]


def assemble(bands: Iterable[Band], height: int) -> np.ndarray:
    """The whole image from its bands (for tests and tools; the worker never needs it)."""
    out: np.ndarray | None = None
    filled = 0
    for row0, rows in bands:
        if out is None:
            out = np.empty((height, *rows.shape[1:]), dtype=np.float32)
        if row0 != filled:
            raise RuntimeError(f"band starts at row {row0}, expected {filled}")
        out[row0 : row0 + len(rows)] = rows
        filled += len(rows)
    if out is None or filled != height:
        raise RuntimeError(f"bands covered {filled} of {height} rows")
    return out


def _source_span(src_height: int, height: int, row0: int, row1: int, method: Filter) -> tuple[int, int]:
    """Source rows [lo, hi) that output rows [row0, row1) of a resize to `height` rows can read."""
    ratio = src_height / height
    support = _SUPPORT[method] * max(ratio, 1.0)
    lo = math.floor((row0 + 0.5) * ratio - support)
    hi = math.ceil((row1 - 0.5) * ratio + support) + 1
    return max(0, lo), min(src_height, hi)


def resize_rows(src: np.ndarray, width: int, height: int, row0: int, row1: int, method: Filter) -> np.ndarray:
    """Rows [row0, row1) of `src` resized to width x height, reading only the source rows they need.

    Not clipped: bicubic and Lanczos overshoot [0, 1] at edges, and the caller clips once at the end.
    """
    ratio = src.shape[0] / height
    lo, hi = _source_span(src.shape[0], height, row0, row1, method)
    return resize_region(src[lo:hi], width, row1 - row0, row0 * ratio - lo, row1 * ratio - lo, method)


def resize_bands(
    bands: Iterable[Band], src_height: int, width: int, height: int, method: Filter
) -> Iterator[Band]:
    """Resize an image that arrives as bands, yielding output bands as soon as their source rows are in.

    Holds only the source rows that output rows still to come can read.
    """
    ratio = src_height / height
    held: np.ndarray | None = None
    held_from = 0  # source row of held[0]
    received = 0
    done = 0  # output rows yielded
    for row0, rows in bands:
        if row0 != received:
            raise RuntimeError(f"band starts at row {row0}, expected {received}")
        received += len(rows)
        held = rows if held is None else np.concatenate([held, rows])
        end = done
        if received == src_height:
            end = height
        else:
            while end < height and _source_span(src_height, height, done, end + 1, method)[1] <= received:
                end += 1
        step = band_rows(width, held.shape[2])
        while done < end:
            stop = min(end, done + step)
            lo, hi = _source_span(src_height, height, done, stop, method)
            top = done * ratio - lo
            yield (
                done,
                resize_region(
                    held[lo - held_from : hi - held_from],
                    width,
                    stop - done,
                    top,
                    top + (stop - done) * ratio,
                    method,
                ),
            )
            done = stop
        if done < height:
            keep_from = _source_span(src_height, height, done, done + 1, method)[0]
            if keep_from > held_from:
                held = held[keep_from - held_from :]
                held_from = keep_from
    if done != height:
        raise RuntimeError(f"resized {done} of {height} rows from {received} of {src_height}")


def _gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised Gaussian of standard deviation `sigma` (pixels), cut at 3 sigma."""
    radius = max(1, math.ceil(3.0 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1, dtype=np.float64) / sigma) ** 2)
    kernel: np.ndarray = (taps / taps.sum()).astype(np.float32)
    return kernel


def low_pass_bands(bands: Iterable[Band], height: int, sigma: float) -> Iterator[Band]:
    """A Gaussian blur (`sigma` pixels, edges repeated) of an image that arrives as bands, as bands.

    A band leaves once the rows below it that the blur reads are in, so it equals the whole image's blur
    (tests/models/test_bands.py) while holding only a band and the kernel's reach of rows around it.
    """
    import cv2

    kernel = _gaussian_kernel(sigma)
    reach = len(kernel) // 2
    held: np.ndarray | None = None
    held_from = 0  # image row of held[0]
    received = 0
    done = 0
    for row0, rows in bands:
        if row0 != received:
            raise RuntimeError(f"band starts at row {row0}, expected {received}")
        received += len(rows)
        held = rows if held is None else np.concatenate([held, rows])
        end = height if received >= height else received - reach
        if end <= done:
            continue
        lo = max(held_from, done - reach)
        block = np.ascontiguousarray(held[lo - held_from : min(height, end + reach) - held_from])
        # Rows beyond the block are repeated at its ends: right at the image's edges, and cut off elsewhere
        # (the block reaches `reach` rows past every row kept).
        blurred = cv2.sepFilter2D(block, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)
        yield done, blurred.reshape(block.shape)[done - lo : end - lo]
        done = end
        if done - reach > held_from:
            held = held[done - reach - held_from :]
            held_from = done - reach
    if done != height:
        raise RuntimeError(f"blurred {done} of {height} rows")
