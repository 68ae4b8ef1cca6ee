"""Banded output: every stage streams rows, and the bands put together are the one-shot result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import models.imaging.bands
from models.engine import load_upscaler, upscale, upscale_bands, upscale_to_integers
from models.imaging.bands import Band, assemble, low_pass_bands, resize_bands, resize_rows
from models.imaging.resample import Filter, resize
from models.imaging.tiling import tile_grid, tiled_bands
from models.spec import PLAIN
from models.zoo import builtin

# (source h, w) -> (output h, w): integer upscales as the engine uses them, and the ratios it resamples by
# from a native pass (4x to 2x, 4x to 3x, 4x to 8x).
SHAPES = [((37, 23), (74, 46)), ((21, 17), (168, 136)), ((40, 30), (20, 15)), ((52, 40), (39, 30))]


def noop(_fraction: float) -> None:
    return None


def _in_bands(image: np.ndarray, rows: int) -> Iterator[Band]:
    for row0 in range(0, image.shape[0], rows):
        yield row0, image[row0 : row0 + rows]


@pytest.mark.parametrize(
    ("method", "source", "target"),
    [
        (method, source, target)
        for method in Filter
        for source, target in SHAPES
        if method is not Filter.NEAREST or target[0] % source[0] == 0  # nearest: integer upscales only
    ],
)
def test_resized_rows_and_bands_equal_the_whole_resize(method: Filter, source, target):
    image = np.random.default_rng(1).random((*source, 2), dtype=np.float32)
    (height, width) = target
    whole = resize(image, width, height, method)
    rows = np.concatenate(
        [resize_rows(image, width, height, r, min(height, r + 5), method) for r in range(0, height, 5)]
    )
    assert np.abs(np.clip(rows, 0, 1) - whole).max() < 1e-6
    for band in (1, 4, 9):
        streamed = assemble(resize_bands(_in_bands(image, band), source[0], width, height, method), height)
        assert np.abs(np.clip(streamed, 0, 1) - whole).max() < 1e-6


def test_tiled_bands_leave_before_the_last_tile_runs():
    """The first rows are handed on while later tile rows have not run: output is never held whole."""
    calls = []

    def nearest_2x(windows: torch.Tensor) -> torch.Tensor:
        calls.append(len(windows))
        return windows.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)

    image = np.random.default_rng(2).random((64, 40, 3), dtype=np.float32)
    bands = tiled_bands(
        torch.from_numpy(image), nearest_2x, scale=2, out_channels=3, tile=16, pad=8, feather=8
    )
    row0, first = next(bands)
    grid = tile_grid(64, 40, 16, 8)
    tile_rows = len({t.y0 for t in grid})
    tiles_per_row = len(grid) // tile_rows
    assert tile_rows == 4 and tiles_per_row == 2
    assert row0 == 0 and len(first) < 128
    assert sum(calls) == tiles_per_row + 1 < tiles_per_row * tile_rows  # one tile of the second row ran
    rest = list(bands)
    assert len(rest) == tile_rows - 1
    whole = assemble([(row0, first), *rest], 128)
    assert np.abs(whole - np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)).max() < 1e-6


@pytest.mark.parametrize(
    ("model_id", "scale", "tolerance"), [("bicubic", 3, 1e-6), ("lanczos", 2, 1e-6), ("srcnn", 2, 1e-5)]
)
def test_many_small_bands_give_the_one_band_result(
    model_id: str, scale: int, tolerance: float, models_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    image = np.random.default_rng(3).random((30, 21, 4), dtype=np.float32)
    whole = upscale(image, builtin(model_id), scale, models_dir, noop)  # one band: the image is small
    monkeypatch.setattr(models.imaging.bands, "_BAND_BYTES", 1)  # bands of 16 rows
    bands = list(upscale_bands(image, builtin(model_id), scale, models_dir, noop))
    assert len(bands) > 2
    assert np.abs(assemble(bands, 30 * scale) - whole).max() <= tolerance


def test_neural_bands_at_8x_are_the_native_pass_resampled_in_one_go(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two rows of CPU tiles leave as two 4x bands, resampled to 8x as they come: same as one resize."""
    rgb = np.random.default_rng(5).random((400, 21, 3), dtype=np.float32)
    compact = builtin("realesr-animevideov3")
    upscaler = load_upscaler(compact, models_dir, compact.weights_for(4, PLAIN))
    monkeypatch.setattr(upscaler, "window_budget", lambda: (300 * 21, 1))  # windows of at most 300 rows
    native = list(upscaler._native(torch.from_numpy(rgb), noop))  # type: ignore[attr-defined]
    assert len(native) == 2
    expected = resize(assemble(native, 1600), 168, 3200, Filter.LANCZOS)
    bands = list(upscaler.bands(rgb, 8, noop))
    assert len(bands) >= 2
    assert np.abs(np.clip(assemble(bands, 3200), 0, 1) - expected).max() < 1e-6


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("bit_depth", [8, 16])
def test_integer_output_is_the_rounded_float_output(channels: int, bit_depth: int, models_dir: Path):
    image = np.random.default_rng(4).random((11, 9, channels), dtype=np.float32)
    top = 65535 if bit_depth == 16 else 255
    compact = builtin("realesr-animevideov3")
    expected = np.rint(upscale(image, compact, 3, models_dir, noop) * top)
    out = upscale_to_integers(image, compact, 3, models_dir, noop, bit_depth)
    assert out.dtype == (np.uint16 if bit_depth == 16 else np.uint8)
    assert out.shape == (33, 27, channels)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("rows", [1, 7, 40, 500])
def test_a_banded_blur_is_the_whole_image_blur(channels: int, rows: int):
    """Bands of any height give the one-band blur exactly; a blur of a constant is that constant."""
    image = np.random.default_rng(channels).random((203, 57, channels), dtype=np.float32)
    whole = assemble(low_pass_bands(iter([(0, image)]), 203, 4.0), 203)
    assert np.array_equal(assemble(low_pass_bands(_in_bands(image, rows), 203, 4.0), 203), whole)
    assert whole.shape == image.shape and whole.std() < image.std() / 4
    flat = np.full((30, 9, channels), 0.25, np.float32)
    assert np.allclose(assemble(low_pass_bands(_in_bands(flat, 4), 30, 2.5), 30), 0.25, atol=1e-6)
