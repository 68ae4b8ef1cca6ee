"""The ncnn backend gives the torch path's image: on the CPU to float rounding, on Vulkan (lavapipe) >= 40 dB.

Vulkan runs on Mesa's lavapipe, a software Vulkan device that `make test` installs as it installs Chromium;
where no Vulkan device exists the Vulkan tests skip (and fail under CI=true, where one must be).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import models.runtimes.ncnn_upscaler
from models.convert.ncnn_convert import ncnn_files
from models.devices import probe, resolve
from models.engine import configure_engine, default_engine, upscale
from models.imaging.bands import assemble
from models.imaging.tiling import tile_grid
from models.runtimes.ncnn_upscaler import NcnnGraph, NcnnUpscaler, load_ncnn
from models.runtimes.spandrel_upscaler import _reach, _RRDBParts, load_spandrel
from models.zoo import builtin, find_variant
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit


def noop(_fraction: float) -> None:
    return None


def photo(height: int, width: int) -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[90 : 90 + height, 140 : 140 + width], dtype=np.float32) / 255


@pytest.fixture
def engine() -> Iterator[None]:
    """Tests configure the engine as a worker would; the default comes back after each."""
    yield
    configure_engine(default_engine())


def require_vulkan() -> None:
    if not probe().vulkan:
        reason = "no Vulkan device (Debian: mesa-vulkan-drivers libvulkan1, which `make test` installs)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and it is required in CI")
        pytest.skip(reason)


def test_the_graph_is_read_from_the_official_param_files() -> None:
    x4plus = NcnnGraph.read(ncnn_files(find_variant("realesrgan-x4plus", 4))[0])
    assert (x4plus.architecture, x4plus.input, x4plus.output) == ("ESRGAN", "data", "output")
    assert x4plus.trunk is not None and x4plus.trunk != "data"
    compact = NcnnGraph.read(ncnn_files(find_variant("realesr-animevideov3", 4))[0])
    assert (compact.architecture, compact.trunk) == ("Compact", None)
    upconv7 = NcnnGraph.read(ncnn_files(find_variant("waifu2x-photo", 2, 1))[0], "waifu2x-upconv7")
    assert (upconv7.architecture, upconv7.scale, upconv7.prepad) == ("Waifu2xUpConv7", 2, 7)
    with pytest.raises(ValueError, match="no realcugan graphs"):
        NcnnGraph.read(ncnn_files(find_variant("realcugan-se", 2))[0], "realcugan")


def test_the_rrdb_upsampler_reach_is_the_torch_paths(models_dir: Path) -> None:
    torch_model = load_spandrel(models_dir / "realesrgan-x4plus.safetensors")
    parts = _RRDBParts.of(torch_model.descriptor.model)
    assert parts is not None
    graph = NcnnGraph.read(ncnn_files(find_variant("realesrgan-x4plus", 4))[0])
    assert graph.reach == _reach(parts.upsampler)


@pytest.mark.parametrize(
    ("family", "scale"), [("realesr-animevideov3", 4), ("realesrgan-x4plus-anime", 4), ("waifu2x-photo", 2)]
)
def test_ncnn_on_the_cpu_equals_torch_in_the_engines_windows(
    family: str, scale: int, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two windows side by side (a smaller budget), RRDB upsamplers on sub-tiles: the same image."""
    image = photo(48, 200)
    variant = find_variant(family, scale)
    ncnn_model = load_ncnn(*ncnn_files(variant), kind=variant.graph)
    per_pixel = models.runtimes.ncnn_upscaler._BYTES_PER_PIXEL[ncnn_model.architecture]
    monkeypatch.setattr(models.runtimes.ncnn_upscaler, "CPU_ACTIVATION_BUDGET", 48 * 170 * per_pixel)
    monkeypatch.setattr(NcnnUpscaler, "upsampler_tile", lambda self: 24)
    tile, _batch, height, width = ncnn_model.plan(48, 200)
    assert len(tile_grid(height, width, tile, ncnn_model.pad)) == 2
    ours = assemble(ncnn_model.bands(image, scale, noop), 48 * scale)
    torch_model = load_spandrel(models_dir / variant.file_name)
    reference = assemble(torch_model.bands(image, scale, noop), 48 * scale)
    assert ours.shape == reference.shape == (48 * scale, 200 * scale, 3)
    assert np.abs(ours - reference).max() * 255 < 0.05  # fp32 both: float rounding, far below a level


def test_the_engine_runs_a_model_on_the_backend_it_is_configured_for(models_dir: Path, engine: None) -> None:
    spec = builtin("realesr-animevideov3")
    image = photo(20, 28)
    configure_engine(resolve("cpu", "ncnn", "fp32"))
    from models.engine import load_upscaler

    assert isinstance(load_upscaler(spec, models_dir, "realesr-animevideov3.safetensors"), NcnnUpscaler)
    on_ncnn = upscale(image, spec, 3, models_dir, noop)  # x3: the x4 pass, then Lanczos, as on torch
    configure_engine(resolve("cpu", "torch", "fp32"))
    on_torch = upscale(image, spec, 3, models_dir, noop)
    assert on_ncnn.shape == on_torch.shape == (60, 84, 3)
    assert np.abs(on_ncnn - on_torch).max() * 255 < 0.05


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize(
    ("model", "scale"), [("realesr-animevideov3", 4), ("realesrgan-x4plus-anime", 4), ("waifu2x-photo", 2)]
)
def test_a_job_on_vulkan_gives_the_cpu_paths_image(
    model: str, scale: int, signup, settings, engine: None
) -> None:
    """A whole job through the service with MR_DEVICE=vulkan (lavapipe), against the CPU path's result."""
    require_vulkan()
    rng = np.random.default_rng(7)
    base = (photo(40, 36) * 255).astype(np.uint8)
    pixels = np.clip(base.astype(np.int16) + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    user = signup()

    results = {}
    for device in ("cpu", "vulkan"):
        configure_engine(resolve(device, "auto", "fp32"))
        job = submit(user, buffer.getvalue(), model=model, scale=scale).json()
        run(job["id"])
        done = user.get(f"/v1/jobs/{job['id']}").json()
        assert done["status"] == "succeeded", done
        result = user.get(f"/v1/jobs/{job['id']}/result").content
        results[device] = np.asarray(Image.open(io.BytesIO(result)))
    assert results["vulkan"].shape == results["cpu"].shape == (40 * scale, 36 * scale, 3)
    assert psnr(results["vulkan"], results["cpu"]) >= 40  # fp16 on the device, fp32 on the CPU
