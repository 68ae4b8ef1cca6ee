"""Neural models loaded through spandrel (Real-ESRGAN, ESRGAN, Compact, SwinIR, ...), run in tiles.

Tiles are cut on the host and streamed to the device one batch at a time, and their output leaves as row
bands as soon as a row of tiles is done: the GPU holds one batch, the host one row of tiles' output. Each
tile carries `pad` pixels of real context that are cropped after the pass, which keeps seams below
visibility. fp16 on CUDA, fp32 on CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import torch
from spandrel import ImageModelDescriptor, ModelLoader

from models.arch import register_architectures
from models.bands import Band, resize_bands
from models.flat_guard import flat_mask, keep_flat_rows
from models.registry import ProgressFn
from models.resample import Filter
from models.se_sync import SESync, sample_windows
from models.tiling import Tile, crop_bands, fit_tile, padded_size, tile_grid, tiled_bands

# Context around each tile (input pixels) by spandrel architecture, and the cross-fade band at inner tile
# edges. Measured as tiled against whole on a natural photo (bench/seams.py, docs/benchmarks.md): Compact
# nets are exact from 32; RRDB nets see far, and realesrgan-x4plus left steps of 13 levels at tile edges
# with 32 of context, 2 with 48, 0.1 with 64. Real-CUGAN and waifu2x cunet, whose tiles share their
# squeeze-excitation means (models/se_sync.py), are exact (<= 0.01 levels) from 24; at 16 Real-CUGAN 2x
# left 0.36 levels, at 8 7.2. waifu2x upconv_7 sees 7 pixels, but the cross-fade reaches 8 pixels into the
# context: exact from 16, 1.6 levels at 8. Architectures not measured get the widest.
_PADS = {"Compact": 32, "RealCUGAN": 24, "Waifu2xCUNet": 24, "Waifu2xUpConv7": 16}
_DEFAULT_PAD = 64
_FEATHER = 16
_CPU_TILE = 256
# On CUDA, larger tiles: with 64 of context a 256 tile does 2.25x its own work, a 512 tile 1.56x.
_GPU_TILE = 512
_GPU_MAX_BATCH = 16


_cpu_dtype = torch.float32


def set_cpu_precision(precision: str) -> None:
    """fp32 (default, exact) or bf16 on CPU, for models loaded from now on.

    bf16 halves CPU time on CPUs with AVX512-BF16 or AMX (measured 1.9-2.0x on an AMD EPYC with AVX512-BF16)
    at a cost of about 0.3 8-bit levels on average, 2.5 at the 99.9th percentile (docs/benchmarks.md).
    """
    global _cpu_dtype
    _cpu_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]


def _device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def activation_bytes_per_pixel(scale: int, half: bool) -> int:
    """Peak activation memory per input pixel of a window, with a 2x margin.

    Sized for the widest built-in network (RRDBNet, 64-channel maps): about 12 maps alive at input resolution
    inside a dense block, then about 3 at output resolution (scale^2 as many pixels) in the upsampler.
    """
    element = 2 if half else 4
    return 2 * element * 64 * (12 + 3 * scale * scale)


def plan_gpu_tiles(
    free_bytes: int, scale: int, half: bool = True, budget: float = 0.5, pad: int = _DEFAULT_PAD
) -> tuple[int, int]:
    """Tile side and batch size whose activations fit in `budget` of the free VRAM.

    Prefers batches of 512-pixel tiles (enough work per launch to fill a large GPU); on a small or busy GPU
    it shrinks the batch to 1, then the tile, down to 64.
    """
    per_pixel = activation_bytes_per_pixel(scale, half)
    usable = free_bytes * budget
    batch = int(usable // (per_pixel * (_GPU_TILE + 2 * pad) ** 2))
    if batch >= 1:
        return _GPU_TILE, min(batch, _GPU_MAX_BATCH)
    side = int((usable / per_pixel) ** 0.5) - 2 * pad
    return max(64, side // 32 * 32), 1


class SpandrelUpscaler:
    """Runs one spandrel model at its native scale, resampling to the requested scale where they differ."""

    def __init__(self, descriptor: ImageModelDescriptor, device: torch.device) -> None:
        self.descriptor = descriptor
        self.device = device
        self.half = device.type == "cuda" and descriptor.supports_half
        self.dtype = torch.float16 if self.half else (_cpu_dtype if device.type == "cpu" else torch.float32)
        if self.dtype == torch.bfloat16 and not descriptor.supports_bfloat16:
            self.dtype = torch.float32
        self.pad = _PADS.get(descriptor.architecture.id, _DEFAULT_PAD)
        self.se_sync = SESync.attach(descriptor.model)
        descriptor.to(device)
        descriptor.eval()
        descriptor.model.to(self.dtype)
        # channels_last measured 1.2-1.8x faster for these convolution stacks on CPU (bench/engine.py).
        descriptor.model.to(memory_format=torch.channels_last)

    @property
    def native_scale(self) -> int:
        return int(self.descriptor.scale)

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]:
        """One native pass, then Lanczos to the exact target size, streamed in bands.

        For 8x with a 4x model this beat a second native pass by 1.5-1.7 dB Y-PSNR on every model
        (bench/quality.py, docs/benchmarks.md), at a quarter of the cost.
        """
        height, width = rgb.shape[:2]
        native = self._native(rgb, progress)
        if scale != self.native_scale:
            native = resize_bands(
                native, height * self.native_scale, width * scale, height * scale, Filter.LANCZOS
            )
        flat = flat_mask(rgb)
        for row0, rows in native:
            yield row0, keep_flat_rows(rgb, flat, rows, row0, scale)

    def _native(self, rgb: np.ndarray, progress: ProgressFn) -> Iterator[Band]:
        """One native pass in tiles, streamed in bands: the windows meet the network's size requirements.

        An image too small for them is padded (reflected, as Real-CUGAN pads itself) and the padding's
        output cropped off again; tiles of a squeeze-excitation network share its means (models/se_sync.py).
        """
        if self.device.type == "cuda":
            tile, batch = plan_gpu_tiles(
                torch.cuda.mem_get_info()[0], self.native_scale, self.half, pad=self.pad
            )
        else:
            tile, batch = _CPU_TILE, 1  # one tile at a time keeps a CPU core's working set in cache
        rule = self.descriptor.size_requirements
        tile = fit_tile(tile, self.pad, rule.minimum, rule.multiple_of)
        height, width = rgb.shape[:2]
        padded_h, padded_w = padded_size(
            height, width, tile + 2 * self.pad, rule.minimum, rule.multiple_of, rule.square
        )
        if (padded_h, padded_w) != (height, width):
            rgb = np.pad(rgb, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="reflect")
        network: Callable[[np.ndarray], np.ndarray] = self._forward
        grid = tile_grid(padded_h, padded_w, tile, self.pad)
        if self.se_sync is not None and len(grid) > 1:
            network = partial(self._forward, se_means=self._shared_se_means(self.se_sync, rgb, grid, batch))
        bands = tiled_bands(
            rgb,
            network,
            scale=self.native_scale,
            out_channels=3,
            tile=tile,
            pad=self.pad,
            feather=_FEATHER,
            batch=batch,
            progress=progress,
        )
        return crop_bands(bands, height * self.native_scale, width * self.native_scale)

    def _shared_se_means(
        self, se_sync: SESync, rgb: np.ndarray, grid: list[Tile], batch: int
    ) -> tuple[torch.Tensor, ...]:
        """Squeeze-excitation means for every tile of this image, from a sample of its windows."""
        sample = sample_windows(grid)

        def run() -> None:
            for start in range(0, len(sample), batch):
                group = sample[start : start + batch]
                self._forward(np.stack([rgb[t.py0 : t.py1, t.px0 : t.px1] for t in group]))

        return se_sync.record(run)

    @torch.inference_mode()
    def _forward(self, tiles: np.ndarray, se_means: tuple[torch.Tensor, ...] | None = None) -> np.ndarray:
        """N x H x W x 3 tiles in [0, 1] to N x sH x sW x 3; only this batch visits the device.

        With `se_means`, squeeze-excitation blocks use them instead of each tile's own (models/se_sync.py).
        """
        tensor = torch.from_numpy(np.ascontiguousarray(tiles.transpose(0, 3, 1, 2))).to(self.device)
        tensor = tensor.contiguous(memory_format=torch.channels_last).to(self.dtype)
        if se_means is None or self.se_sync is None:
            out = self.descriptor(tensor)
        else:
            with self.se_sync.shared(se_means):
                out = self.descriptor(tensor)
        result: np.ndarray = out.float().clamp_(0, 1).cpu().numpy().transpose(0, 2, 3, 1)
        return result


def load_descriptor(path: Path) -> ImageModelDescriptor:
    """Load a `.pth`/`.safetensors` file that spandrel, or one of our added architectures, recognises."""
    register_architectures()
    descriptor = ModelLoader().load_from_file(path)
    if not isinstance(descriptor, ImageModelDescriptor):
        raise ValueError(f"{path.name} is not a single-image model")
    return descriptor


def load_spandrel(path: Path) -> SpandrelUpscaler:
    """Load a model file for running on this machine's device (CUDA if present, else CPU)."""
    return SpandrelUpscaler(load_descriptor(path), _device())
