"""The engine: exact output sizes, no colour shifts, alpha and gray kept, tiling without seams."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from models.engine import upscale
from models.imaging.bands import assemble
from models.imaging.tiling import Network, RegionNetwork, tile_grid, tiled_bands
from models.zoo import builtin, builtin_models

MODEL_IDS = [spec.id for spec in builtin_models()]


def run_tiled(image: np.ndarray, network, *, scale: int, **options) -> np.ndarray:
    """The whole tiled output, on the host."""
    bands = tiled_bands(torch.from_numpy(image), network, scale=scale, **options)
    return assemble(((row0, rows.numpy()) for row0, rows in bands), image.shape[0] * scale)


def noop(_fraction: float) -> None:
    return None


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_every_model_gives_exactly_scale_times_the_size(model_id, scale, models_dir: Path):
    image = np.random.default_rng(0).random((13, 17, 3), dtype=np.float32)
    out = upscale(image, builtin(model_id), scale, models_dir, noop)
    assert out.shape == (13 * scale, 17 * scale, 3)
    assert out.dtype == np.float32


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_white_stays_white_and_flat_stays_flat(model_id, models_dir: Path):
    white = np.ones((16, 16, 3), dtype=np.float32)
    assert np.all(np.rint(upscale(white, builtin(model_id), 3, models_dir, noop) * 255) == 255)
    flat = np.empty((16, 16, 3), dtype=np.float32)
    flat[...] = np.array([200, 120, 30]) / 255
    out = np.rint(upscale(flat, builtin(model_id), 2, models_dir, noop) * 255)
    assert np.abs(out - np.array([200, 120, 30])).max() <= 1


@pytest.mark.parametrize("model_id", ["bicubic", "srcnn"])
def test_alpha_and_gray_layouts_are_kept(model_id, models_dir: Path):
    rng = np.random.default_rng(2)
    rgba = rng.random((10, 12, 4), dtype=np.float32)
    rgba[:5, :, 3] = 0.0  # a fully transparent half stays fully transparent
    rgba[5:, :, 3] = 1.0
    out = upscale(rgba, builtin(model_id), 2, models_dir, noop)
    assert out.shape == (20, 24, 4)
    assert out[:8, :, 3].max() == 0.0
    assert out[12:, :, 3].min() == 1.0
    assert upscale(
        rng.random((10, 12, 1), dtype=np.float32), builtin(model_id), 2, models_dir, noop
    ).shape == (
        20,
        24,
        1,
    )
    assert upscale(
        rng.random((10, 12, 2), dtype=np.float32), builtin(model_id), 2, models_dir, noop
    ).shape == (
        20,
        24,
        2,
    )


def test_progress_is_reported_up_to_done(models_dir: Path):
    seen: list[float] = []
    upscale(np.zeros((8, 8, 3), dtype=np.float32), builtin("srcnn"), 2, models_dir, seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize("model_id", ["realesrgan-x4plus", "realcugan-se"])
def test_a_one_window_gan_pass_moves_before_it_ends(model_id: str, models_dir: Path):
    """A heavy model's one window sat at 0 for its whole run, then jumped to 1: now its convolutions report
    in between, in order, and only the finished pass says 1."""
    seen: list[float] = []
    image = np.random.default_rng(4).random((40, 48, 3), dtype=np.float32)
    upscale(image, builtin(model_id), 4, models_dir, seen.append)
    inside = [fraction for fraction in seen if 0.0 < fraction < 1.0]
    assert len(inside) >= 10, seen[:20]
    assert seen == sorted(seen) and seen[-1] == 1.0 and seen.count(1.0) == 1


def test_unsupported_scale_is_refused(models_dir: Path):
    with pytest.raises(ValueError):
        upscale(np.zeros((4, 4, 3), dtype=np.float32), builtin("bicubic"), 5, models_dir, noop)


def test_tile_grid_covers_every_pixel_once():
    grid = tile_grid(37, 50, 16, 4)
    covered = np.zeros((37, 50), dtype=int)
    for t in grid:
        covered[t.y0 : t.y1, t.x0 : t.x1] += 1
    assert np.all(covered == 1)


def test_tiled_srcnn_equals_untiled(models_dir: Path):
    from models.runtimes.srcnn import WEIGHTS_PATH, load_srcnn
    from models.runtimes.srcnn_upscaler import SRCNNUpscaler

    upscaler = SRCNNUpscaler(load_srcnn(WEIGHTS_PATH))
    luma = np.random.default_rng(3).random((70, 90, 1), dtype=np.float32)
    whole = upscaler._refine(torch.from_numpy(luma[None]))[0].numpy()
    tiled = run_tiled(luma, upscaler._refine, scale=1, out_channels=1, tile=24, pad=8, batch=4)
    assert np.abs(whole - tiled).max() < 1e-5


@pytest.mark.parametrize(
    ("model_id", "worst_step"),
    [("realesr-animevideov3", 0.01), ("realesrgan-x4plus-anime", 0.01), ("realesrgan-x4plus", 1.0)],
)
def test_tiled_neural_models_show_no_seams(model_id: str, worst_step: float, models_dir: Path):
    """Tiled output against one untiled pass, on a natural photo: no step at any tile edge.

    A 288-row strip cut into five rows of tiles, so the middle ones have exactly the shipped context.
    """
    from skimage import data

    from models.runtimes.spandrel_upscaler import load_spandrel
    from models.runtimes.tiled_upscaler import FEATHER

    upscaler = load_spandrel(models_dir / f"{model_id}.safetensors")
    photo = data.astronaut()[60:348, 150:222].astype(np.float32) / 255
    grid = tile_grid(288, 72, 64, upscaler.pad)
    assert len(grid) == 5 and all(t.py1 - t.py0 < 288 for t in grid)
    whole = upscaler._forward(photo[None])[0].numpy()
    # The engine's network: RRDB upsamplers run on the kept regions only, here in sub-tiles of 40.
    network: Network = upscaler._forward
    if upscaler.parts is not None:
        network = RegionNetwork(partial(upscaler._run_parts, upscaler.parts, side=40))
    tiled = run_tiled(photo, network, scale=4, out_channels=3, tile=64, pad=upscaler.pad, feather=FEATHER)
    error = (tiled - whole) * 255
    assert np.abs(error).max() < worst_step  # in 8-bit levels, everywhere
    # A seam is a jump of the error between neighbouring pixels across a tile edge.
    assert max(np.abs(np.diff(error, axis=0)).max(), np.abs(np.diff(error, axis=1)).max()) < worst_step


def test_feathered_tiles_blend_to_the_exact_image():
    """With an exact network (nearest 2x) the cross-fade weights sum to one everywhere."""
    image = np.random.default_rng(5).random((45, 61, 3), dtype=np.float32)

    def nearest_2x(tiles: torch.Tensor) -> torch.Tensor:
        return tiles.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)

    tiled = run_tiled(image, nearest_2x, scale=2, out_channels=3, tile=16, pad=8, feather=8, batch=4)
    assert np.allclose(tiled, nearest_2x(torch.from_numpy(image[None]))[0].numpy(), atol=1e-6)


def test_tile_windows_are_equal_sized_and_hold_their_context():
    height, width, tile, pad = 37, 50, 16, 4
    grid = tile_grid(height, width, tile, pad)
    assert {(t.py1 - t.py0, t.px1 - t.px0) for t in grid} == {(24, 24)}
    for t in grid:
        assert t.py0 <= t.y0 and t.y1 <= t.py1 and t.px0 <= t.x0 and t.x1 <= t.px1
        assert t.y0 - t.py0 >= min(pad, t.y0) and t.py1 - t.y1 >= min(pad, height - t.y1)
        assert t.x0 - t.px0 >= min(pad, t.x0) and t.px1 - t.x1 >= min(pad, width - t.x1)
    small = tile_grid(10, 12, 16, 8)
    assert [(t.py0, t.py1, t.px0, t.px1) for t in small] == [(0, 10, 0, 12)]


@pytest.mark.parametrize(
    ("length", "cores"), [(256, 1), (320, 1), (321, 2), (576, 2), (577, 3), (1000, 4), (1025, 5)]
)
def test_an_image_a_little_larger_than_a_tile_runs_once_or_twice(length: int, cores: int):
    """Windows are tile + 2 x pad; edge cores need context on one side only, so they may be longer."""
    grid = tile_grid(length, 8, 256, 32)
    assert len(grid) == cores
    assert all(t.py1 - t.py0 == min(length, 320) for t in grid)
    if cores > 2:
        assert max(t.y1 - t.y0 for t in grid) <= 256


def test_gpu_plan_fits_the_free_memory():
    from models.runtimes.spandrel_upscaler import activation_bytes_per_pixel, plan_gpu_tiles

    roomy_tile, roomy_batch = plan_gpu_tiles(70 * 2**30, scale=4)
    assert roomy_tile == 512 and roomy_batch > 1
    tile, batch = plan_gpu_tiles(16 * 2**30, scale=4)
    assert tile == 512 and 1 <= batch < roomy_batch
    tight_tile, tight_batch = plan_gpu_tiles(2 * 2**30, scale=4)
    assert tight_batch == 1 and 64 <= tight_tile < 512
    assert plan_gpu_tiles(16 * 2**30, scale=4, half=False)[1] < batch or batch == 1
    for free, tile_, batch_ in [(70 * 2**30, roomy_tile, roomy_batch), (2 * 2**30, tight_tile, tight_batch)]:
        window = tile_ + 2 * 64
        assert batch_ * window**2 * activation_bytes_per_pixel(4, True) <= free * 0.5


def test_bf16_on_cpu_stays_close_to_fp32(models_dir: Path):
    from models.runtimes.spandrel_upscaler import load_spandrel

    image = np.random.default_rng(8).random((20, 24, 3), dtype=np.float32)
    exact = load_spandrel(models_dir / "realesr-animevideov3.safetensors", "cpu")
    fast = load_spandrel(models_dir / "realesr-animevideov3.safetensors", "cpu", "bf16")
    assert fast.dtype == torch.bfloat16 and exact.dtype == torch.float32
    difference = (
        np.abs(assemble(fast.bands(image, 4, noop), 80) - assemble(exact.bands(image, 4, noop), 80)) * 255
    )
    assert 0 < difference.mean() < 1.0  # bf16 really ran, and stays within a level on average
