"""On a CUDA GPU every neural model gives the CPU path's image: fp16 windows in batches against fp32.

CI has no GPU, so these skip there; they run where a GPU is lent (docs/benchmarks.md says when they last
ran). The module needs nothing of the service (no database, no broker), so it also runs alone on a GPU
machine with `pytest --noconftest tests/models/test_cuda.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from models.devices import default_engine, resolve, variant_of
from models.engine import configure_engine, current_engine, load_upscaler, upscale, upscale_to_integers
from models.imaging.device_resample import resize_tensor_bands
from models.imaging.host_copy import HostImage
from models.imaging.resample import Filter, resize_region
from models.imaging.tiling import tile_grid
from models.install import install_official_weights
from models.runtimes.spandrel_upscaler import activation_bytes_per_pixel
from models.runtimes.tiled_upscaler import TiledUpscaler
from models.spec import PLAIN, ModelSpec
from models.zoo import builtin

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

# Model, scale: every neural family once, at its native scale; Real-CUGAN for its shared
# squeeze-excitation means, x4plus for its RRDB upsampler on sub-tiles.
CASES = [
    ("realesrgan-x4plus", 4),
    ("realesrgan-x4plus-anime", 4),
    ("realesr-animevideov3", 4),
    ("realsr-df2k", 4),
    ("realcugan-se", 2),
    ("waifu2x-photo", 2),
    ("waifu2x-cunet", 2),
    ("faithful", 4),
    ("srcnn", 2),
]


def noop(_fraction: float) -> None:
    return None


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def installed(model: str, scale: int, models_dir: Path) -> tuple[ModelSpec, str | None]:
    """The model and its weight file for `scale`, converted into `models_dir` (that file alone)."""
    spec = builtin(model)
    weights = spec.weights_for(scale, PLAIN)
    variant = variant_of(weights)
    if variant is not None:
        install_official_weights(models_dir, [variant])
    return spec, weights


@pytest.fixture
def engine() -> Iterator[None]:
    yield
    configure_engine(default_engine())


def photo(height: int, width: int) -> np.ndarray:
    """scikit-image's astronaut (512 x 512), mirrored at its edges to the size asked."""
    from skimage import data

    astronaut: np.ndarray = data.astronaut()  # type: ignore[no-untyped-call]
    mirrored = np.pad(astronaut, ((0, max(0, height - 512)), (0, max(0, width - 512)), (0, 0)), "symmetric")
    return np.ascontiguousarray(mirrored[:height, :width], dtype=np.float32) / 255


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float(10 * np.log10(1.0 / max(mse, 1e-20)))


def test_auto_places_neural_models_on_the_gpu_in_fp16(engine: None) -> None:
    configure_engine(resolve("auto"))
    chosen = current_engine()
    assert chosen.device == "cuda"
    spec = builtin("realesrgan-x4plus")
    place = chosen.placement(variant_of(spec.weights_for(4, PLAIN)))
    assert (place.backend, place.device, place.precision) == ("torch", "cuda", "fp16")


@pytest.mark.parametrize(("model", "scale"), CASES)
def test_cuda_gives_the_cpu_paths_image(
    model: str, scale: int, models_dir: Path, engine: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image of several CUDA windows, so that windows are cross-faded.

    The CPU runs the same windows: squeeze-excitation models (Real-CUGAN, waifu2x cunet) share means
    sampled from the windows (models/runtimes/se_sync.py), so their result depends on the grid by design.
    """
    image = photo(600, 1100)
    spec, weights = installed(model, scale, models_dir)
    # With a GPU's whole free memory the image would run as one window: plan as on a GPU with 3 GiB free.
    total = torch.cuda.mem_get_info()[1]
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *_device: (3 * 2**30, total))
    configure_engine(resolve("cuda"))
    upscaler = load_upscaler(spec, models_dir, weights)
    on_gpu = upscale(image, spec, scale, models_dir, noop)
    configure_engine(resolve("cpu", "torch", "fp32"))
    if isinstance(upscaler, TiledUpscaler):
        plan = upscaler.plan(*image.shape[:2])
        tile, _batch, height, width = plan
        assert len(tile_grid(height, width, tile, upscaler.pad)) > 1
        monkeypatch.setattr(TiledUpscaler, "plan", lambda _self, _height, _width: plan)
    on_cpu = upscale(image, spec, scale, models_dir, noop)
    assert on_gpu.shape == on_cpu.shape == (600 * scale, 1100 * scale, 3)
    assert np.isfinite(on_gpu).all()
    assert psnr(on_gpu, on_cpu) >= 40  # fp16 on the GPU against fp32 on the CPU


def test_a_large_image_runs_in_batched_windows_within_memory(models_dir: Path, engine: None) -> None:
    """2048 px with an RRDB net: windows (and batches) sized from free memory, no out-of-memory error."""
    spec, weights = installed("realesrgan-x4plus-anime", 4, models_dir)
    configure_engine(resolve("cuda"))
    upscaler = load_upscaler(spec, models_dir, weights)
    assert isinstance(upscaler, TiledUpscaler)
    tile, batch, height, width = upscaler.plan(2048, 2048)
    first = tile_grid(height, width, tile, upscaler.pad)[0]
    window = (first.py1 - first.py0) * (first.px1 - first.px0)
    assert (
        batch >= 1
        and batch * window * activation_bytes_per_pixel(4, True) <= torch.cuda.mem_get_info()[0] / 2
    )
    rng = np.random.default_rng(3)
    image = rng.random((2048, 2048, 3), dtype=np.float32)
    torch.cuda.reset_peak_memory_stats()
    out = upscale(image, spec, 4, models_dir, noop)
    assert out.shape == (8192, 8192, 3) and np.isfinite(out).all()
    assert torch.cuda.max_memory_allocated() < torch.cuda.mem_get_info()[1]


@pytest.mark.parametrize(
    ("model", "scale", "bit_depth"), [("realesr-animevideov3", 3, 8), ("realcugan-se", 3, 16)]
)
def test_integers_made_on_the_gpu_at_a_resampled_scale_match_the_cpu(
    model: str, scale: int, bit_depth: int, models_dir: Path, engine: None
) -> None:
    """The whole device pipeline: windows, cross-fade, Lanczos to the scale, flat guard and quantising on
    the GPU, integers copied home on a side stream; the CPU's fp32 image within 40 dB."""
    image = photo(300, 520)
    image[:40, :60] = 0.5  # a flat patch for the guard
    spec, _weights = installed(model, scale, models_dir)
    configure_engine(resolve("cuda"))
    on_gpu = upscale_to_integers(image, spec, scale, models_dir, noop, bit_depth)
    configure_engine(resolve("cpu", "torch", "fp32"))
    on_cpu = upscale_to_integers(image, spec, scale, models_dir, noop, bit_depth)
    assert on_gpu.dtype == on_cpu.dtype and on_gpu.shape == on_cpu.shape == (300 * scale, 520 * scale, 3)
    top = 65535.0 if bit_depth == 16 else 255.0
    assert psnr(on_gpu / top, on_cpu / top) >= 40
    assert np.all(on_gpu[: 36 * scale, : 56 * scale] == on_cpu[: 36 * scale, : 56 * scale])  # flat: exact


def test_cuda_resampling_and_copies_home_match_pillow() -> None:
    image = np.random.default_rng(4).random((300, 200, 3), dtype=np.float32)
    on_gpu = [(row0, torch.from_numpy(image[row0 : row0 + 37]).cuda()) for row0 in range(0, 300, 37)]
    bands = list(resize_tensor_bands(on_gpu, 300, 400, 600, Filter.LANCZOS))
    assert all(band.device.type == "cuda" for _row0, band in bands)
    out = np.empty((600, 400, 3), np.uint8)
    host = HostImage(out)
    for row0, band in bands:
        host.put(row0, band.clamp_(0, 1))
    host.finish()
    expected = np.clip(resize_region(image, 400, 600, 0.0, 300.0, Filter.LANCZOS), 0, 1)
    assert np.abs(out.astype(np.float32) - np.rint(expected * 255)).max() <= 1
