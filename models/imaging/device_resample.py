"""Resampling of banded images on the device that holds them: Pillow's filters, computed in torch.

A model's output on a GPU is resampled to the requested scale where it was made, so only finished bands
cross to the host (models/runtimes/tiled_upscaler.py). The weights are Pillow's own (the same support,
centres, clamping at the borders and normalisation as its `precompute_coeffs`, in double precision), applied
as Pillow applies them: horizontally, then vertically. Only the float32 sums differ from Pillow's double
ones, far below an 8-bit step (tests/models/test_device_resample.py). On the CPU, Pillow's own C loop is
faster than torch's gathers (a 2x Lanczos upscale of 1024 pixels: 0.13 s against 0.22 s), so bands on the CPU
go through it (models/imaging/bands.py), as views: no copy either way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from models.imaging.bands import band_rows, resize_bands
from models.imaging.resample import Filter
from models.imaging.tiling import TensorBand


def _sinc(x: np.ndarray) -> np.ndarray:
    out = np.ones_like(x)
    nonzero = x != 0.0
    out[nonzero] = np.sin(np.pi * x[nonzero]) / (np.pi * x[nonzero])
    return out


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where((x > -3.0) & (x < 3.0), _sinc(x) * _sinc(x / 3.0), 0.0)


def _bicubic(x: np.ndarray) -> np.ndarray:
    a = -0.5
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _bilinear(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


_FILTERS: dict[Filter, tuple[float, Callable[[np.ndarray], np.ndarray]]] = {
    Filter.BILINEAR: (1.0, _bilinear),
    Filter.BICUBIC: (2.0, _bicubic),
    Filter.LANCZOS: (3.0, _lanczos),
}


@dataclass(frozen=True)
class Taps:
    """Pillow's weights for one axis: output pixel j reads source pixels first[j] + k for k < count[j]."""

    first: np.ndarray  # int64, per output pixel
    count: np.ndarray  # int64, per output pixel
    weights: np.ndarray  # float64, output pixels x the widest support; zero past count

    @property
    def reads_to(self) -> np.ndarray:
        """One past the last source pixel each output pixel reads (non-decreasing)."""
        ends: np.ndarray = np.maximum.accumulate(self.first + self.count)
        return ends


def taps(in_size: int, out_size: int, method: Filter) -> Taps:
    """Pillow's `precompute_coeffs` for a whole axis of `in_size` resized to `out_size`."""
    support_1, kernel = _FILTERS[method]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = support_1 * filterscale
    size = math.ceil(support) * 2 + 1
    centre = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    # C's (int) truncates towards zero; a negative start is clamped to zero either way.
    first = np.maximum(np.trunc(centre - support + 0.5), 0).astype(np.int64)
    last = np.minimum(np.trunc(centre + support + 0.5), in_size).astype(np.int64)
    count = last - first
    k = np.arange(size, dtype=np.float64)
    weights = kernel((first[:, None] + k[None, :] - centre[:, None] + 0.5) / filterscale)
    weights[k[None, :] >= count[:, None]] = 0.0
    total = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total != 0.0)
    return Taps(first, count, weights)


class _Axis:
    """One axis's taps on a device: per tap k, the source index and weight of every output pixel."""

    def __init__(self, axis: Taps, device: torch.device) -> None:
        size = axis.weights.shape[1]
        # Taps past a pixel's support (weight zero) read its last real one: never a row not yet received.
        last = np.maximum(axis.first + axis.count - 1, 0)
        index = np.minimum(axis.first[:, None] + np.arange(size)[None, :], last[:, None])
        used = int(axis.count.max())
        self.index = torch.from_numpy(index[:, :used].T.copy()).to(device)
        self.weights = torch.from_numpy(axis.weights[:, :used].T.astype(np.float32)).to(device)

    def apply(self, source: torch.Tensor, dim: int, out: slice, offset: int = 0) -> torch.Tensor:
        """Output pixels `out` along `dim` (0 rows, 1 columns) of an H x W x C source whose first pixel
        along `dim` is source pixel `offset`."""
        result: torch.Tensor | None = None
        for index, weight in zip(self.index[:, out], self.weights[:, out], strict=True):
            shape = (-1, 1, 1) if dim == 0 else (1, -1, 1)
            term = source.index_select(dim, index - offset) * weight.view(shape)
            result = term if result is None else result.add_(term)
        assert result is not None
        return result


def resize_tensor_bands(
    bands: Iterable[TensorBand],
    src_height: int,
    width: int,
    height: int,
    method: Filter,
    pillow_on_cpu: bool = True,
) -> Iterator[TensorBand]:
    """Resize an image that arrives as bands (tensors on one device) to width x height, as bands on it.

    Output rows leave as soon as the source rows they read are in; only the source rows that rows still to
    come read are held, each already resampled across. Not clipped (Lanczos overshoots; the caller clips).
    `pillow_on_cpu` False runs the torch kernels on CPU bands too (what a GPU runs: for tests and benches).
    """
    bands = iter(bands)
    first = next(bands, None)
    if first is None:
        raise RuntimeError(f"resized 0 of {height} rows from 0 of {src_height}")
    if first[1].device.type == "cpu" and pillow_on_cpu:
        on_host = ((start, band.numpy()) for start, band in itertools.chain([first], bands))
        for start, resized_rows in resize_bands(on_host, src_height, width, height, method):
            yield start, torch.from_numpy(resized_rows)
        return
    device = first[1].device
    vertical = taps(src_height, height, method)
    needs = vertical.reads_to
    across = _Axis(taps(first[1].shape[1], width, method), device)
    down = _Axis(vertical, device)
    held: torch.Tensor | None = None
    held_from = 0  # source row of held[0]
    received = 0
    done = 0
    for row0, rows in itertools.chain([first], bands):
        if row0 != received:
            raise RuntimeError(f"band starts at row {row0}, expected {received}")
        received += len(rows)
        resized = across.apply(rows, 1, slice(None))
        held = resized if held is None else torch.cat([held, resized])
        end = int(np.searchsorted(needs, received, side="right"))
        step = band_rows(width, held.shape[2])
        while done < end:
            stop = min(end, done + step)
            yield done, down.apply(held, 0, slice(done, stop), held_from)
            done = stop
        if done < height:
            keep_from = int(vertical.first[done:].min())
            if keep_from > held_from:
                held = held[keep_from - held_from :]
                held_from = keep_from
    if done != height:
        raise RuntimeError(f"resized {done} of {height} rows from {received} of {src_height}")
