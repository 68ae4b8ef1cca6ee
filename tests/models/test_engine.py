"""The engine: exact output sizes, no colour shifts, alpha and gray kept, tiling without seams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.engine import upscale
from models.registry import all_models, get_model
from models.tiling import run_tiled, tile_grid

MODEL_IDS = [spec.id for spec in all_models()]


def noop(_fraction: float) -> None:
    return None


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_every_model_gives_exactly_scale_times_the_size(model_id, scale, models_dir: Path):
    image = np.random.default_rng(0).random((13, 17, 3), dtype=np.float32)
    out = upscale(image, model_id, scale, models_dir, noop)
    assert out.shape == (13 * scale, 17 * scale, 3)
    assert out.dtype == np.float32


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_white_stays_white_and_flat_stays_flat(model_id, models_dir: Path):
    white = np.ones((16, 16, 3), dtype=np.float32)
    assert np.all(np.rint(upscale(white, model_id, 3, models_dir, noop) * 255) == 255)
    flat = np.empty((16, 16, 3), dtype=np.float32)
    flat[...] = np.array([200, 120, 30]) / 255
    out = np.rint(upscale(flat, model_id, 2, models_dir, noop) * 255)
    assert np.abs(out - np.array([200, 120, 30])).max() <= 1


@pytest.mark.parametrize("model_id", ["bicubic", "srcnn"])
def test_alpha_and_gray_layouts_are_kept(model_id, models_dir: Path):
    rng = np.random.default_rng(2)
    rgba = rng.random((10, 12, 4), dtype=np.float32)
    rgba[:5, :, 3] = 0.0  # a fully transparent half stays fully transparent
    rgba[5:, :, 3] = 1.0
    out = upscale(rgba, model_id, 2, models_dir, noop)
    assert out.shape == (20, 24, 4)
    assert out[:8, :, 3].max() == 0.0
    assert out[12:, :, 3].min() == 1.0
    assert upscale(rng.random((10, 12, 1), dtype=np.float32), model_id, 2, models_dir, noop).shape == (
        20,
        24,
        1,
    )
    assert upscale(rng.random((10, 12, 2), dtype=np.float32), model_id, 2, models_dir, noop).shape == (
        20,
        24,
        2,
    )


def test_progress_is_reported_up_to_done(models_dir: Path):
    seen: list[float] = []
    upscale(np.zeros((8, 8, 3), dtype=np.float32), "srcnn", 2, models_dir, seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


def test_unsupported_scale_is_refused(models_dir: Path):
    with pytest.raises(ValueError):
        upscale(np.zeros((4, 4, 3), dtype=np.float32), "bicubic", 5, models_dir, noop)


def test_tile_grid_covers_every_pixel_once():
    grid = tile_grid(37, 50, 16, 4)
    covered = np.zeros((37, 50), dtype=int)
    for t in grid:
        covered[t.y0 : t.y1, t.x0 : t.x1] += 1
        assert t.py0 == max(0, t.y0 - 4) and t.px1 == min(50, t.x1 + 4)
    assert np.all(covered == 1)


def test_tiled_srcnn_equals_untiled(models_dir: Path):
    from models.srcnn import WEIGHTS_PATH, load_srcnn
    from models.srcnn_upscaler import SRCNNUpscaler

    upscaler = SRCNNUpscaler(load_srcnn(WEIGHTS_PATH))
    luma = np.random.default_rng(3).random((70, 90, 1), dtype=np.float32)
    whole = upscaler._refine(luma)
    tiled = run_tiled(luma, upscaler._refine, scale=1, out_channels=1, tile=24, pad=8)
    assert np.abs(whole - tiled).max() < 1e-5


def test_pricing_grows_with_output_size():
    pricing = get_model("srcnn").pricing
    assert pricing.credits_for(1) == pricing.minimum
    assert pricing.credits_for(100_000_000) > pricing.credits_for(10_000_000) > pricing.minimum


def test_tiled_neural_model_shows_no_seams(models_dir: Path):
    from models.spandrel_upscaler import load_spandrel

    upscaler = load_spandrel(models_dir / "realesr-animevideov3.safetensors")
    image = np.random.default_rng(4).random((70, 90, 3), dtype=np.float32)
    whole = upscaler._forward(image)
    tiled = run_tiled(image, upscaler._forward, scale=4, out_channels=3, tile=32, pad=16)
    assert np.abs(whole - tiled).max() * 255 < 1.0  # below one 8-bit step everywhere, seams included
