"""The inference entry point: any channel layout in, exactly scale x the size out, models cached.

`upscale_to_integers` is what workers use: the output is built band by band (models.imaging.bands) straight
into the final 8- or 16-bit image, so a job's host memory is that image plus one band in float, whatever the
model and scale (bench/memory.py), plus a neural model's windows. Once a neural model runs on CPU, the process
heap keeps freed blocks for the next window's maps (`reuse_freed_memory`), and every job gives them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from models.devices import Engine, default_engine, variant_of
from models.imaging.bands import Band, assemble, band_rows, in_bands_of, resize_rows
from models.imaging.host_copy import HostImage
from models.imaging.resample import Filter
from models.imaging.tiling import TensorBand
from models.runtimes.heap import release_freed_memory, reuse_freed_memory
from models.runtimes.tiled_upscaler import TiledUpscaler
from models.spec import PLAIN, ModelSpec, Options, Placement, ProgressFn, Upscaler, WeightsMissing

__all__ = [
    "configure_engine",
    "current_engine",
    "default_engine",
    "load_upscaler",
    "release_freed_memory",
    "reuse_freed_memory",
    "upscale",
    "upscale_bands",
    "upscale_into",
    "upscale_to_integers",
]

# The process's engine: the worker sets it once (`configure_engine`); calls that pass none run on it.
_engine: Engine | None = None


def configure_engine(engine: Engine) -> None:
    """Run models from now on where `engine` says (a worker's settings, resolved by models.devices)."""
    global _engine
    _engine = engine
    _load.cache_clear()


def current_engine() -> Engine:
    """The configured engine; unconfigured (tests, tools), torch on CUDA if present, else the CPU in fp32."""
    return _engine or default_engine()


def load_upscaler(
    spec: ModelSpec, models_dir: Path, weights: str | None = None, engine: Engine | None = None
) -> Upscaler:
    """Load a model (one of its weight files, for a family) once per worker process, on the backend and
    device `engine` places it (models/devices.py; None: the process's engine)."""
    return _load(spec, models_dir, weights, engine or current_engine())


@lru_cache(maxsize=8)
def _load(spec: ModelSpec, models_dir: Path, weights: str | None, engine: Engine) -> Upscaler:
    if weights is None:
        if spec.load is None:
            raise ValueError(f"model {spec.id} needs a weight file")
        return spec.load(models_dir, Placement("torch", engine.torch_device, "fp32", "its own network"))
    variant = variant_of(weights)
    place = engine.placement(variant)
    if place.backend == "ncnn" and variant is not None:
        from models.convert.ncnn_convert import ncnn_files
        from models.runtimes.ncnn_upscaler import load_ncnn

        try:
            param, bin_file = ncnn_files(variant)
        except FileNotFoundError as exc:
            raise WeightsMissing(f"{exc}: reinstall the project (`make install`)") from exc
        return load_ncnn(param, bin_file, engine.vulkan.index if engine.vulkan else None, variant.graph)
    from models.runtimes.spandrel_upscaler import load_spandrel

    path = models_dir / weights
    if not path.is_file():
        raise WeightsMissing(f"{path} is missing: run `mindrender models install`")
    return load_spandrel(path, place.device, engine.cpu_precision)


def _colour_bands(
    image: np.ndarray,
    spec: ModelSpec,
    scale: int,
    models_dir: Path,
    progress: ProgressFn,
    options: Options,
    engine: Engine | None,
) -> Iterator[TensorBand]:
    """The model's colour output, clipped to [0, 1], in bands of ~32 MiB, as tensors on the model's device
    (host memory for the CPU and for models that run elsewhere): RGB, or gray for a gray input."""
    weights = spec.weights_for(scale, options)
    height, width, channels = image.shape
    out_h, out_w = height * scale, width * scale
    gray = channels in (1, 2)
    colour = image[:, :, :1] if gray else image[:, :, :3]
    rgb = np.ascontiguousarray(np.repeat(colour, 3, axis=2) if gray else colour, dtype=np.float32)
    upscaler = load_upscaler(spec, models_dir, weights, engine)
    bands: Iterable[TensorBand]
    if isinstance(upscaler, TiledUpscaler):
        bands = upscaler.device_bands(rgb, scale, progress)
    else:
        bands = ((row0, torch.from_numpy(rows)) for row0, rows in upscaler.bands(rgb, scale, progress))
    done = 0
    # A model may hand over a whole row of tiles at once; what follows works on bands of ~32 MiB.
    for row0, rows in in_bands_of(bands, band_rows(out_w, channels)):
        if row0 != done or tuple(rows.shape[1:]) != (out_w, 3) or not 0 < len(rows) <= out_h - done:
            raise RuntimeError(
                f"model {spec.id} returned rows {row0}+{tuple(rows.shape)} for {image.shape} at x{scale}"
            )
        yield row0, (rows.mean(dim=2, keepdim=True) if gray else rows).clamp_(0.0, 1.0)
        done += len(rows)
    if done != out_h:
        raise RuntimeError(f"model {spec.id} returned {done} of {out_h} rows for {image.shape} at x{scale}")


def _alpha_rows(image: np.ndarray, scale: int, row0: int, row1: int) -> np.ndarray:
    """Rows [row0, row1) of the input's alpha (its last channel) resized with bicubic, clipped."""
    height, width = image.shape[:2]
    alpha = resize_rows(image[:, :, -1:], width * scale, height * scale, row0, row1, Filter.BICUBIC)
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def upscale_bands(
    image: np.ndarray,
    spec: ModelSpec,
    scale: int,
    models_dir: Path,
    progress: ProgressFn,
    options: Options = PLAIN,
    engine: Engine | None = None,
) -> Iterator[Band]:
    """Upscale an HxWxC float32 image in [0, 1], C in 1..4 (gray, gray+alpha, RGB, RGBA), as row bands.

    The model sees RGB; gray is expanded and averaged back, alpha is resized with bicubic (a soft mask
    upscales cleanly with it, and a model trained on photos would invent texture in it). Bands are clipped
    to [0, 1], keep the input's channel layout and are float32 on the host.
    """
    channels = image.shape[2]
    for row0, colour in _colour_bands(image, spec, scale, models_dir, progress, options, engine):
        if channels in (1, 3):
            yield row0, colour.cpu().numpy()
            continue
        out = np.empty((len(colour), image.shape[1] * scale, channels), dtype=np.float32)
        out[:, :, :-1] = colour.cpu().numpy()
        out[:, :, -1:] = _alpha_rows(image, scale, row0, row0 + len(colour))
        yield row0, out


def upscale(
    image: np.ndarray,
    spec: ModelSpec,
    scale: int,
    models_dir: Path,
    progress: ProgressFn,
    options: Options = PLAIN,
    engine: Engine | None = None,
) -> np.ndarray:
    """`upscale_bands` assembled into one float32 image (for tests and tools)."""
    bands = upscale_bands(image, spec, scale, models_dir, progress, options, engine)
    return assemble(bands, image.shape[0] * scale)


def upscale_into(
    out: np.ndarray,
    image: np.ndarray,
    spec: ModelSpec,
    scale: int,
    models_dir: Path,
    progress: ProgressFn,
    options: Options = PLAIN,
    engine: Engine | None = None,
) -> None:
    """Upscale `image` into `out`, an integer image (uint8 or uint16) of its layout at `scale`, band by band.

    Colour bands are quantised where the model made them, so a GPU sends the host integers (a quarter or
    half of float32's bytes) over a copy stream that overlaps the next band's work (`HostImage`).
    """
    top = 65535.0 if out.dtype == np.uint16 else 255.0
    channels = image.shape[2]
    host = HostImage(out[:, :, : 1 if channels in (1, 2) else 3])
    for row0, colour in _colour_bands(image, spec, scale, models_dir, progress, options, engine):
        host.put(row0, colour)
        if channels in (2, 4):
            alpha = _alpha_rows(image, scale, row0, row0 + len(colour))
            np.multiply(alpha, top, out=alpha)
            np.rint(alpha, out=out[row0 : row0 + len(alpha), :, -1:], casting="unsafe")
    host.finish()


def upscale_to_integers(
    image: np.ndarray,
    spec: ModelSpec,
    scale: int,
    models_dir: Path,
    progress: ProgressFn,
    bit_depth: int,
    options: Options = PLAIN,
    engine: Engine | None = None,
) -> np.ndarray:
    """The upscaled image quantised to uint8 (bit_depth 8) or uint16 (16), built band by band."""
    height, width, channels = image.shape
    out = np.empty(
        (height * scale, width * scale, channels), dtype=np.uint16 if bit_depth == 16 else np.uint8
    )
    try:
        upscale_into(out, image, spec, scale, models_dir, progress, options, engine)
    finally:
        release_freed_memory()
    return out
