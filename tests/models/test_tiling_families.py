"""Tiling the new families: size requirements kept, and no seams, squeeze-excitation networks included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.imaging.bands import assemble
from models.imaging.tiling import padded_size, plan_tiles, tile_grid
from models.runtimes.se_sync import sample_windows
from models.runtimes.spandrel_upscaler import load_spandrel
from training.datasets import VALIDATION_IMAGES, load_rgb


def noop(_fraction: float) -> None:
    return None


@pytest.mark.parametrize(
    ("minimum", "multiple_of", "square"), [(32, 1, False), (40, 4, False), (16, 8, True)]
)
@pytest.mark.parametrize(("height", "width"), [(1, 1), (13, 17), (37, 300), (500, 45), (700, 900)])
@pytest.mark.parametrize("budget", [304 * 304, 2**20])
def test_every_window_meets_the_size_rule(
    minimum: int, multiple_of: int, square: bool, height: int, width: int, budget: int
) -> None:
    """As the engine plans (SpandrelUpscaler.plan): the rule's size first, tiles, then a square's padding."""
    padded_h, padded_w = padded_size(height, width, 0, minimum, multiple_of)
    tile = plan_tiles(padded_h, padded_w, 24, budget, minimum, multiple_of, square)
    if square:
        padded_h, padded_w = padded_size(padded_h, padded_w, tile[0] + 48, minimum, multiple_of, True)
    assert padded_h >= height and padded_w >= width
    window = max(tile) + 48
    assert padded_h - height < max(minimum, multiple_of, window) and padded_w - width < max(
        minimum, multiple_of, window
    )
    for t in tile_grid(padded_h, padded_w, tile, 24):
        side_h, side_w = t.py1 - t.py0, t.px1 - t.px0
        assert min(side_h, side_w) >= minimum
        assert side_h % multiple_of == 0 and side_w % multiple_of == 0
        assert side_h == side_w or not square
        assert side_h * side_w <= max(budget, window**2)


def test_an_image_below_the_minimum_is_padded_and_cropped(models_dir: Path) -> None:
    """Real-CUGAN needs 32 pixels (its reflection pre-padding fails below 19); the engine pads for it."""
    upscaler = load_spandrel(models_dir / "realcugan-se-x2.safetensors")
    assert upscaler.descriptor.size_requirements.minimum == 32
    image = np.random.default_rng(4).random((13, 17, 3), dtype=np.float32)
    with pytest.raises(RuntimeError), torch.inference_mode():
        upscaler.descriptor.model(torch.from_numpy(image.transpose(2, 0, 1).copy())[None])
    out = assemble(upscaler.bands(image, 2, noop), 26)
    assert out.shape == (26, 34, 3)
    # The top-left of a pass over the reflected 32 x 32 image.
    padded = np.pad(image, ((0, 19), (0, 15), (0, 0)), mode="reflect")
    assert np.abs(out - upscaler._forward(padded[None])[0][:26, :34].numpy()).max() < 1e-5


def test_shared_means_sample_every_other_tile_row_and_column() -> None:
    grid = tile_grid(1000, 1000, 256, 24)
    assert len(grid) == 16
    assert {(t.y0, t.x0) for t in sample_windows(grid)} == {(250, 250), (250, 750), (750, 250), (750, 750)}
    strip = tile_grid(40, 600, 256, 24)
    assert [(t.y0, t.x0) for t in sample_windows(strip)] == [(0, 200)]


@pytest.mark.parametrize("name", ["realcugan-se-x2", "waifu2x-cunet-x2", "waifu2x-cunet-x1-denoise3"])
def test_tiles_share_their_squeeze_excitation_means_and_show_no_seams(
    name: str, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own tiling (three tiles across a photo strip) against one untiled pass.

    Both use the means the engine shares across the tiles; each tile with its own means instead leaves
    steps of 27-46 levels (Real-CUGAN) or 5-8 (waifu2x cunet) at tile edges (bench/seams.py).
    """
    upscaler = load_spandrel(models_dir / f"{name}.safetensors")
    assert upscaler.se_sync is not None
    photo = load_rgb(VALIDATION_IMAGES["coffee"])[200:240, :600]
    # A budget of 40 x 304-pixel windows: the strip runs as three tiles (its own budget runs it whole).
    monkeypatch.setattr(upscaler, "window_budget", lambda: (40 * 304, 1))
    tile, _batch, height, width = upscaler.plan(40, 600)
    grid = tile_grid(height, width, tile, upscaler.pad)
    assert len(grid) == 3
    pixels = torch.from_numpy(np.ascontiguousarray(photo))
    means = upscaler._shared_se_means(upscaler.se_sync, pixels, grid, 1)
    whole = upscaler._forward(pixels[None], se_means=means)[0].numpy()
    scale = upscaler.native_scale
    tiled = assemble(upscaler._native(pixels, noop), 40 * scale)
    error = (tiled - whole) * 255
    assert np.abs(error).max() < 1.0  # in 8-bit levels, everywhere
    assert max(np.abs(np.diff(error, axis=0)).max(), np.abs(np.diff(error, axis=1)).max()) < 1.0
