"""Neural models loaded through spandrel (Real-ESRGAN, ESRGAN, Compact, SwinIR, ...), run in tiles.

Tiles are cut on the host and streamed to the device one batch at a time, so neither host nor GPU memory
ever holds more than the output image and one batch. Each tile carries `pad` pixels of real context that
are cropped after the pass, which keeps seams below visibility. fp16 on CUDA, fp32 on CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from spandrel import ImageModelDescriptor, ModelLoader

from models.flat_guard import keep_flat_areas
from models.registry import ProgressFn
from models.resample import Filter, resize
from models.tiling import run_tiled

_CPU_TILE = 192
_PAD = 16


def _device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _gpu_tile(scale: int) -> int:
    """The largest tile whose activations fit comfortably in the free VRAM (RRDBNet: ~ 64 ch x 24 maps)."""
    free, _total = torch.cuda.mem_get_info()
    bytes_per_input_pixel = 2 * 64 * 24 * scale * scale // 4 + 2 * 64 * 24
    side = int((free * 0.5 / bytes_per_input_pixel) ** 0.5)
    return max(64, min(1024, side // 32 * 32))


class SpandrelUpscaler:
    """Runs one spandrel model at its native scale, resampling to the requested scale where they differ."""

    def __init__(self, descriptor: ImageModelDescriptor, device: torch.device) -> None:
        self.descriptor = descriptor
        self.device = device
        self.half = device.type == "cuda" and descriptor.supports_half
        descriptor.to(device)
        descriptor.eval()
        if self.half:
            descriptor.model.half()
        # channels_last measured 1.2-1.8x faster for these convolution stacks on CPU (bench/engine.py).
        descriptor.model.to(memory_format=torch.channels_last)

    @property
    def native_scale(self) -> int:
        return int(self.descriptor.scale)

    def upscale(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> np.ndarray:
        """One native pass, then Lanczos to the exact target size.

        For 8x with a 4x model this beat a second native pass by 1.5-1.7 dB Y-PSNR on every model
        (bench/quality.py, docs/benchmarks.md), at a quarter of the cost.
        """
        height, width = rgb.shape[:2]
        native = self._native(rgb, progress)
        return keep_flat_areas(rgb, resize(native, width * scale, height * scale, Filter.LANCZOS), scale)

    def _native(self, rgb: np.ndarray, progress: ProgressFn) -> np.ndarray:
        tile = _gpu_tile(self.native_scale) if self.device.type == "cuda" else _CPU_TILE
        return run_tiled(
            rgb,
            self._forward,
            scale=self.native_scale,
            out_channels=3,
            tile=tile,
            pad=_PAD,
            progress=progress,
        )

    @torch.inference_mode()
    def _forward(self, rgb: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(self.device)
        tensor = tensor.contiguous(memory_format=torch.channels_last)
        if self.half:
            tensor = tensor.half()
        out = self.descriptor(tensor)[0].float().clamp_(0, 1).cpu().numpy()
        result: np.ndarray = out.transpose(1, 2, 0)
        return result


def load_spandrel(path: Path) -> SpandrelUpscaler:
    """Load a `.pth`/`.safetensors` file that spandrel recognises."""
    descriptor = ModelLoader().load_from_file(path)
    if not isinstance(descriptor, ImageModelDescriptor):
        raise ValueError(f"{path.name} is not a single-image model")
    return SpandrelUpscaler(descriptor, _device())
