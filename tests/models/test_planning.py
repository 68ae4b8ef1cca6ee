"""Planning the work: windows as large as the memory budget allows; RRDB upsamplers only where it is kept."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import models.runtimes.spandrel_upscaler
from models.imaging.bands import assemble
from models.imaging.tiling import RegionNetwork, plan_tiles, tile_grid, tiled_bands, work_amplification
from models.runtimes.spandrel_upscaler import (
    _CPU_BYTES_PER_PIXEL,
    activation_bytes_per_pixel,
    load_spandrel,
    plan_gpu_tiles,
)
from models.runtimes.tiled_upscaler import CPU_ACTIVATION_BUDGET, UPSAMPLER_BYTES_PER_OUTPUT_PIXEL


def noop(_fraction: float) -> None:
    return None


def test_a_512_image_runs_as_one_window_where_256_tiles_ran_four() -> None:
    """The issue's case: 64 pixels of context made 256-pixel tiles run 2.25x a 512 image's pixels."""
    assert work_amplification(tile_grid(512, 512, 256, 64)) == pytest.approx(2.25)
    tile = plan_tiles(512, 512, 64, 512 * 512)
    assert len(tile_grid(512, 512, tile, 64)) == 1
    assert work_amplification(tile_grid(1024, 1024, plan_tiles(1024, 1024, 64, 275_000), 64)) < 1.6


@pytest.mark.parametrize(("height", "width"), [(1, 1), (40, 600), (333, 517), (1024, 1024), (3000, 4000)])
@pytest.mark.parametrize(("pad", "budget"), [(64, 275_000), (32, 100_000), (16, 20_000)])
def test_plans_fit_the_budget_cover_every_pixel_once_and_beat_square_tiles(
    height: int, width: int, pad: int, budget: int
) -> None:
    tile = plan_tiles(height, width, pad, budget)
    grid = tile_grid(height, width, tile, pad)
    window = (grid[0].py1 - grid[0].py0) * (grid[0].px1 - grid[0].px0)
    assert window <= budget
    covered = np.zeros((height, width), dtype=np.int8)
    for t in grid:
        covered[t.y0 : t.y1, t.x0 : t.x1] += 1
        assert t.y0 - t.py0 >= min(pad, t.y0) and t.py1 - t.y1 >= min(pad, height - t.y1)
        assert t.x0 - t.px0 >= min(pad, t.x0) and t.px1 - t.x1 >= min(pad, width - t.x1)
    assert np.all(covered == 1)
    square = math.isqrt(budget) - 2 * pad
    assert work_amplification(grid) <= work_amplification(tile_grid(height, width, square, pad)) + 1e-9


@pytest.mark.parametrize(("height", "width"), [(4000, 700), (700, 4000)])
def test_a_long_image_runs_in_strips_across_it(height: int, width: int) -> None:
    """Context on two sides only: a strip costs (side + 2 x pad) / side, not that squared, over a grid."""
    grid = tile_grid(height, width, plan_tiles(height, width, 64, 4000 * 420), 64)
    across = {(t.px0, t.px1) for t in grid} if width < height else {(t.py0, t.py1) for t in grid}
    assert across == {(0, min(height, width))} and len(grid) == 2
    assert work_amplification(grid) < 1.05


def test_a_region_network_gives_what_whole_windows_give() -> None:
    """Computing only the kept regions of each window changes nothing (an exact network: nearest 2x)."""
    image = np.random.default_rng(5).random((45, 61, 3), dtype=np.float32)
    seen: list[tuple[int, int, int, int]] = []

    def nearest_2x(tiles: torch.Tensor) -> torch.Tensor:
        return tiles.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)

    def regions_only(tiles: torch.Tensor, regions: list[tuple[int, int, int, int]]) -> list[torch.Tensor]:
        seen.extend(regions)
        pairs = zip(tiles, regions, strict=True)
        return [nearest_2x(t[None, y0:y1, x0:x1])[0] for t, (y0, y1, x0, x1) in pairs]

    options = dict(scale=2, out_channels=3, tile=(16, 20), pad=8, feather=8, batch=3)
    pixels = torch.from_numpy(image)
    whole = assemble(tiled_bands(pixels, nearest_2x, **options), 90)  # type: ignore[arg-type]
    regional = assemble(tiled_bands(pixels, RegionNetwork(regions_only), **options), 90)  # type: ignore[arg-type]
    assert np.array_equal(whole, regional)
    assert np.allclose(whole, nearest_2x(pixels[None])[0].numpy())
    windows = work_amplification(tile_grid(45, 61, (16, 20), 8)) * 45 * 61
    assert sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in seen) < 0.6 * windows


def test_rrdb_upsampler_on_kept_regions_equals_the_whole_network(models_dir: Path) -> None:
    """The trunk on the windows, the upsampler on sub-tiles of the kept regions: the same output."""
    upscaler = load_spandrel(models_dir / "realesrgan-x4plus-anime.safetensors")
    assert upscaler.parts is not None and upscaler.parts.reach == 2  # it sees 1.25 input pixels
    windows = np.random.default_rng(7).random((2, 40, 52, 3), dtype=np.float32)
    whole = upscaler._forward(windows)
    regions = [(0, 40, 0, 52), (5, 33, 9, 50)]
    parts = upscaler._run_parts(upscaler.parts, windows, regions, side=12)  # sub-tiles inside the regions
    for out, result, (y0, y1, x0, x1) in zip(parts, whole, regions, strict=True):
        assert np.abs(out - result[y0 * 4 : y1 * 4, x0 * 4 : x1 * 4]).max() < 1e-5


def test_the_engine_runs_a_512_image_in_one_window_and_stays_exact(models_dir: Path) -> None:
    upscaler = load_spandrel(models_dir / "realesrgan-x4plus-anime.safetensors")
    tile, batch, height, width = upscaler.plan(512, 512)
    assert (len(tile_grid(height, width, tile, upscaler.pad)), batch) == (1, 1)
    image = np.random.default_rng(9).random((48, 56, 3), dtype=np.float32)
    out = assemble(upscaler._native(torch.from_numpy(image), noop), 192)
    assert np.abs(out - upscaler._forward(image[None])[0].numpy()).max() < 1e-5


REAL_ESRGAN = ["realesrgan-x4plus", "realesrgan-x4plus-anime", "realesr-animevideov3"]


@pytest.mark.parametrize("model_id", REAL_ESRGAN)
def test_cpu_windows_come_from_the_memory_budget_and_beat_256_pixel_tiles(
    model_id: str, models_dir: Path
) -> None:
    """At real sizes the CPU plan stays within 1 GiB of activations and runs less than the old 2.25x."""
    upscaler = load_spandrel(models_dir / f"{model_id}.safetensors")
    per_pixel = _CPU_BYTES_PER_PIXEL[upscaler.descriptor.architecture.id, upscaler.native_scale]
    amplification: dict[int, float] = {}
    for side in (512, 1024, 2048):
        tile, batch, height, width = upscaler.plan(side, side)
        grid = tile_grid(height, width, tile, upscaler.pad)
        window_h, window_w = grid[0].py1 - grid[0].py0, grid[0].px1 - grid[0].px0
        assert batch == 1 and window_h * window_w * per_pixel <= CPU_ACTIVATION_BUDGET
        amplification[side] = work_amplification(grid)
        assert amplification[side] < work_amplification(tile_grid(side, side, 256, upscaler.pad))
    assert amplification[512] == 1.0  # one window: no context run twice
    if upscaler.parts is not None:  # an RRDB upsampler's sub-tiles take at most half the budget
        upsampler_pixels = upscaler.upsampler_tile() ** 2 * upscaler.native_scale**2
        assert upsampler_pixels * UPSAMPLER_BYTES_PER_OUTPUT_PIXEL <= CPU_ACTIVATION_BUDGET / 2


@pytest.mark.parametrize(
    ("model_id", "worst_step"),
    [("realesr-animevideov3", 0.01), ("realesrgan-x4plus-anime", 0.01), ("realesrgan-x4plus", 1.0)],
)
def test_planned_strips_through_the_engine_show_no_seams(
    model_id: str, worst_step: float, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own plan, cut (by a smaller budget) into strips across a photo: tiled equals whole.

    The thresholds are the seam test's (tests/models/test_engine.py); here the windows are the planner's
    (rectangular, full-height) and the network is what `_native` builds (RRDB upsamplers on sub-tiles).
    """
    from skimage import data

    upscaler = load_spandrel(models_dir / f"{model_id}.safetensors")
    per_pixel = _CPU_BYTES_PER_PIXEL[upscaler.descriptor.architecture.id, upscaler.native_scale]
    photo = data.astronaut()[100:196, 120:376].astype(np.float32) / 255  # 96 x 256
    monkeypatch.setattr(models.runtimes.spandrel_upscaler, "CPU_ACTIVATION_BUDGET", 96 * 200 * per_pixel)
    tile, _batch, height, width = upscaler.plan(96, 256)
    grid = tile_grid(height, width, tile, upscaler.pad)
    assert len(grid) == 2 and {(t.py0, t.py1) for t in grid} == {(0, 96)}  # two strips, side by side
    whole = upscaler._forward(photo[None])[0].numpy()
    error = (assemble(upscaler._native(torch.from_numpy(photo), noop), 96 * 4) - whole) * 255
    assert np.abs(error).max() < worst_step
    assert max(np.abs(np.diff(error, axis=0)).max(), np.abs(np.diff(error, axis=1)).max()) < worst_step


@pytest.mark.parametrize("free_gib", [6, 60])
def test_cuda_plans_batch_equal_windows_within_the_free_memory(
    free_gib: int, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CUDA branch of the planning (no GPU needed): windows within `plan_gpu_tiles`' memory, batchable,
    as large as a batch's memory allows: an image that fits runs whole."""
    upscaler = load_spandrel(models_dir / "realesrgan-x4plus.safetensors")
    free = free_gib * 2**30
    monkeypatch.setattr(upscaler, "device", torch.device("cuda"))
    monkeypatch.setattr(upscaler, "half", True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (free, 80 * 2**30))
    gpu_tile, gpu_batch = plan_gpu_tiles(free, 4, True, pad=64)
    tile, batch, height, width = upscaler.plan(2048, 2048)
    grid = tile_grid(height, width, tile, upscaler.pad)
    sizes = {(t.py1 - t.py0, t.px1 - t.px0) for t in grid}
    assert 1 <= batch <= gpu_batch and len(sizes) == 1
    window_h, window_w = sizes.pop()
    assert batch * window_h * window_w * activation_bytes_per_pixel(4, True) <= free * 0.5
    assert work_amplification(grid) <= work_amplification(tile_grid(2048, 2048, gpu_tile, 64))
    network = upscaler.network(torch.zeros((height, width, 3)), grid, batch)
    assert isinstance(network, RegionNetwork)
    # Whole regions, up to 2048 output pixels a side.
    assert network.run.keywords["side"] == min(max(window_h, window_w), 512)  # type: ignore[attr-defined]
    whole = upscaler.plan(1024, 1024)
    one_window = len(tile_grid(1024, 1024, whole[0], upscaler.pad)) == 1
    assert one_window == (1024**2 * activation_bytes_per_pixel(4, True) <= free * 0.5)


_FAULTS = """
import resource, torch
{setup}
torch.set_num_threads(1)
conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
x = torch.rand(1, 64, 256, 256).contiguous(memory_format=torch.channels_last)


def dense_block():  # 16 MiB maps, concatenated to 32 MiB: an RRDB block's pattern
    y = x
    for _ in range(4):
        y = torch.cat((y, conv(y)), 1)[:, -64:]


with torch.inference_mode():
    dense_block()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    dense_block()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's allocator")
def test_large_freed_blocks_are_reused_not_faulted_in_again() -> None:
    """Without `reuse_freed_memory` each large map of a second pass is new memory, faulted in page by page."""

    def faults(setup: str) -> int:
        code = _FAULTS.format(setup=setup)
        return int(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)

    fresh = faults("")
    reused = faults("from models.engine import reuse_freed_memory; reuse_freed_memory()")
    # Measured: 33,000-57,000 without, 0 with (4,096, one map, now and then on a loaded machine).
    assert fresh > 10_000 and reused < fresh / 4


_RELEASE = """
import numpy as np
from pathlib import Path
from models.zoo import builtin
from models.engine import reuse_freed_memory, upscale_to_integers


def resident(field: str) -> int:  # kB
    status = open("/proc/self/status").read().split(chr(10))
    return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


reuse_freed_memory()
image = np.random.default_rng(0).random((1000, 1000, 3), dtype=np.float32)
upscale_to_integers(image[:8, :8], builtin("bicubic"), 4, Path("."), lambda _: None, 8)  # imports done
base = resident("VmRSS")
kept = np.ones(2**27, np.uint8)  # 128 MiB, freed under the neural heap policy: it stays resident
del kept
before = resident("VmRSS")
out = upscale_to_integers(image, builtin("bicubic"), 4, Path("."), lambda _: None, 8)
print(base, before, resident("VmHWM"), resident("VmRSS"), out.nbytes // 1024)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's allocator")
def test_a_job_gives_its_freed_heap_back() -> None:
    """With freed blocks kept for neural passes, every job still ends with the heap trimmed."""
    result = subprocess.run([sys.executable, "-c", _RELEASE], capture_output=True, check=True, text=True)
    base, before, peak, after, output = map(int, result.stdout.split())  # kB
    assert before - base > 100 * 1024  # the policy keeps freed memory: what the trim must give back
    assert peak - base > output + 64 * 1024  # the job's float bands came and went
    assert after - base < output + 32 * 1024  # without the trim: output + 150 MiB (measured)
