"""The torch backend: neural models loaded through spandrel (Real-ESRGAN, ESRGAN, Compact, SwinIR, ...).

Windows (models/runtimes/tiled_upscaler.py) are streamed to the device one batch at a time: the device holds
one batch, the host one row of windows' output. fp16 on CUDA and MPS; on CPU fp32 or bf16, as the caller says.
On CPU a window holds as many pixels as a measured activation budget allows (a 512 x 512 image runs as one
window), and RRDB networks run their upsampler only on the part of each window that is kept (`_RRDBParts`);
large activation maps also need the process heap to keep freed memory (models/runtimes/heap.py:
`reuse_freed_memory`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from spandrel import ImageModelDescriptor, ModelLoader
from spandrel.architectures.ESRGAN import ESRGAN
from torch import nn

from models.imaging.tiling import Network, Region, RegionNetwork, Tile
from models.runtimes.arch import register_architectures
from models.runtimes.heap import release_freed_memory, reuse_freed_memory
from models.runtimes.se_sync import SESync, sample_windows
from models.runtimes.tiled_upscaler import CPU_ACTIVATION_BUDGET, SizeRule, TiledUpscaler, in_sub_tiles
from models.spec import ProgressFn

# CPU windows hold as many pixels as keep one pass's activations within CPU_ACTIVATION_BUDGET. Bytes per
# window pixel: peak resident memory of one fp32 pass over a 256 x 256 window, by (architecture, native
# scale); for RRDB networks the trunk's only, their upsampler running on sub-tiles (`_RRDBParts`). 1 GiB is
# below what realesrgan-x4plus's whole-network 384-pixel windows needed before (1.6 GB), and lets a 512 x
# 512 image run as one window for RRDB and Compact networks. Architectures not measured keep 256-pixel tiles.
_CPU_BYTES_PER_PIXEL = {
    ("ESRGAN", 4): 3_900,
    ("Compact", 4): 1_100,
    ("RealCUGAN", 2): 7_200,
    ("RealCUGAN", 3): 13_400,
    ("RealCUGAN", 4): 8_100,
    ("Waifu2xCUNet", 1): 1_900,
    ("Waifu2xCUNet", 2): 7_100,
    ("Waifu2xUpConv7", 2): 2_700,
}
_CPU_TILE = 256
# On CUDA, larger tiles: with 64 of context a 256 tile does 2.25x its own work, a 512 tile 1.56x.
_GPU_TILE = 512
_GPU_MAX_BATCH = 16
# The largest CUDA window, however much memory is free: an RRDB's dense blocks hold 192-channel maps, 0.8 G
# elements at this size, and every map stays below the 2^31 elements some cuDNN kernels can index.
_GPU_MAX_WINDOW_PIXELS = 2048 * 2048

# CPU precision: fp32 (default, exact) or bf16. bf16 halves CPU time on CPUs with AVX512-BF16 or AMX
# (measured 1.9-2.0x on an AMD EPYC with AVX512-BF16) at a cost of about 0.3 8-bit levels on average, 2.5 at
# the 99.9th percentile (docs/benchmarks.md).
_CPU_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def activation_bytes_per_pixel(scale: int, half: bool) -> int:
    """Peak activation memory per input pixel of a window, with a 2x margin.

    Sized for the widest built-in network (RRDBNet, 64-channel maps): about 12 maps alive at input resolution
    inside a dense block, then about 3 at output resolution (scale^2 as many pixels) in the upsampler.
    """
    element = 2 if half else 4
    return 2 * element * 64 * (12 + 3 * scale * scale)


def plan_gpu_tiles(
    free_bytes: int, scale: int, half: bool = True, budget: float = 0.5, pad: int = 64
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


def _to_windows(out: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W network output as N x H x W x 3 float32 in [0, 1], where it was computed.

    Channels-last output (what these networks give for channels-last input) is already laid out so.
    """
    return out.clamp_(0, 1).float().permute(0, 2, 3, 1)


class _RRDBParts:
    """An RRDB network in two parts: the trunk on whole windows, the upsampler only where output is kept.

    The trunk (conv_first, the residual-in-residual dense blocks and conv_body, at input resolution) is what
    needs 64 pixels of context; the upsampler (nearest 2x and a convolution, twice, then two convolutions
    at 4x) sees little more than one input pixel. So it runs on each window's kept region plus `reach`
    pixels of trunk features, in sub-tiles that bound its full-resolution maps: it does no work for the
    context, and the result equals the whole network's to float rounding (tests/models).
    """

    def __init__(self, model: ESRGAN) -> None:
        self.trunk = model.model[:2]
        self.upsampler = model.model[2:]
        self.reach = _reach(self.upsampler)

    @classmethod
    def of(cls, model: nn.Module) -> _RRDBParts | None:
        """The parts of a plain RRDBNet; None for other networks, and for pixel-unshuffled RRDB inputs."""
        return cls(model) if isinstance(model, ESRGAN) and not model.shuffle_factor else None

    def upsample(self, features: torch.Tensor, region: Region, scale: int, side: int) -> torch.Tensor:
        """The output of `region` of one window's trunk features (1 x C x H x W), sub-tiles of `side`."""

        def run(context: Region, kept: Region) -> torch.Tensor:
            (my0, my1, mx0, mx1), (ky0, ky1, kx0, kx1) = context, kept
            result = self.upsampler(features[:, :, my0:my1, mx0:mx1])
            return _to_windows(result[:, :, ky0 * scale : ky1 * scale, kx0 * scale : kx1 * scale])[0]

        size = (int(features.shape[2]), int(features.shape[3]))
        return in_sub_tiles(region, size, scale, side, self.reach, run, features.device)


def _reach(upsampler: nn.Module) -> int:
    """How far (input pixels) an upsampler's output reads beyond its own pixels, over all its convolutions."""
    reach, resolution = 0.0, 1.0
    for module in upsampler.modules():
        if isinstance(module, nn.Upsample):
            resolution *= float(module.scale_factor)  # type: ignore[arg-type]
        elif isinstance(module, nn.PixelShuffle):
            resolution *= module.upscale_factor
        elif isinstance(module, nn.Conv2d):
            reach += (module.kernel_size[0] // 2) * module.dilation[0] / resolution
    return math.ceil(reach)


class SpandrelUpscaler(TiledUpscaler):
    """The torch backend: one spandrel model on CUDA, MPS or the CPU (models/runtimes/tiled_upscaler.py runs
    it)."""

    def __init__(
        self, descriptor: ImageModelDescriptor, device: torch.device, cpu_precision: str = "fp32"
    ) -> None:
        rule = descriptor.size_requirements
        sizes = SizeRule(rule.minimum, rule.multiple_of, rule.square)
        super().__init__(descriptor.architecture.id, int(descriptor.scale), sizes)
        self.descriptor = descriptor
        self.device = device
        self.half = device.type in ("cuda", "mps") and descriptor.supports_half
        self.dtype = (
            torch.float16
            if self.half
            else (_CPU_DTYPES[cpu_precision] if device.type == "cpu" else torch.float32)
        )
        if self.dtype == torch.bfloat16 and not descriptor.supports_bfloat16:
            self.dtype = torch.float32
        self.se_sync = SESync.attach(descriptor.model)
        self.parts = _RRDBParts.of(descriptor.model)
        self._within: ProgressFn | None = None
        self._done = 0.0
        self._count_convolutions(descriptor.model)
        descriptor.to(device)
        descriptor.eval()
        descriptor.model.to(self.dtype)
        # channels_last measured 1.2-1.8x faster for these convolution stacks on CPU (bench/engine.py).
        descriptor.model.to(memory_format=torch.channels_last)
        if device.type == "cpu":
            reuse_freed_memory()

    @property
    def device_type(self) -> str:
        return self.device.type

    @property
    def tensor_device(self) -> torch.device:
        return self.device

    def window_budget(self) -> tuple[int, int]:
        """On CUDA from the free memory (`plan_gpu_tiles`): what a batch of its windows holds, which may
        instead be fewer, larger windows (a 1024-pixel image runs whole where 512-pixel tiles ran 1.56x its
        pixels); on CPU from the activation budget, one window at a time."""
        if self.device.type == "cuda":
            tile, batch = plan_gpu_tiles(
                torch.cuda.mem_get_info()[0], self.native_scale, self.half, pad=self.pad
            )
            return min(
                batch * (tile + 2 * self.pad) ** 2, max(_GPU_MAX_WINDOW_PIXELS, (tile + 2 * self.pad) ** 2)
            ), batch
        measured = _CPU_BYTES_PER_PIXEL.get((self.architecture, self.native_scale))
        if measured is None or (self.architecture == "ESRGAN" and self.parts is None):
            return (_CPU_TILE + 2 * self.pad) ** 2, 1
        return CPU_ACTIVATION_BUDGET // measured, 1

    def network(self, rgb: torch.Tensor, grid: list[Tile], batch: int) -> Network:
        """The whole network; an RRDB network in parts; tiles of a squeeze-excitation network share its
        means (models/runtimes/se_sync.py)."""
        if self.parts is not None:
            return RegionNetwork(partial(self._run_parts, self.parts, side=self.upsampler_side(grid)))
        if self.se_sync is not None and len(grid) > 1:
            return partial(self._forward, se_means=self._shared_se_means(self.se_sync, rgb, grid, batch))
        return self._forward

    def release(self) -> None:
        if self.device.type == "cpu":
            release_freed_memory()

    def report_within(self, progress: ProgressFn | None) -> None:
        self._within, self._done = progress, 0.0

    def _count_convolutions(self, model: nn.Module) -> None:
        """Report progress within a batch as its convolutions finish, weighted by their weights' size (their
        work per pixel at one resolution): a heavy model's one window then moves, where it sat at 0 for its
        whole run (an RRDB's 23 blocks are 347 convolutions). The weighting is a proxy: Real-CUGAN's deeper
        convolutions run on fewer pixels, and an RRDB's upsampler, on sub-tiles after the trunk, runs past
        the total (the batch's share stops just short of its end until its output is in)."""
        convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        total = float(sum(m.weight.numel() for m in convolutions)) or 1.0
        for convolution in convolutions:
            convolution.register_forward_hook(partial(self._finished, convolution.weight.numel() / total))

    def _finished(self, share: float, _module: nn.Module, _inputs: object, _output: object) -> None:
        """One convolution of the running batch is done: `share` more of its work."""
        if self._within is not None:
            self._done += share
            self._within(self._done)

    def _shared_se_means(
        self, se_sync: SESync, rgb: torch.Tensor, grid: list[Tile], batch: int
    ) -> tuple[torch.Tensor, ...]:
        """Squeeze-excitation means for every tile of this image, from a sample of its windows."""
        sample = sample_windows(grid)

        def run() -> None:
            for start in range(0, len(sample), batch):
                group = sample[start : start + batch]
                self._forward(torch.stack([rgb[t.py0 : t.py1, t.px0 : t.px1] for t in group]))

        return se_sync.record(run)

    def _to_device(self, windows: torch.Tensor | np.ndarray) -> torch.Tensor:
        """N x H x W x 3 windows as an N x 3 x H x W channels-last tensor in the model's device and dtype.

        NHWC memory already is channels-last, so a contiguous fp32 batch reaches the model uncopied.
        """
        tensor = windows if isinstance(windows, torch.Tensor) else torch.from_numpy(windows)
        return tensor.permute(0, 3, 1, 2).to(self.device, self.dtype, memory_format=torch.channels_last)

    @torch.inference_mode()
    def _forward(
        self, tiles: torch.Tensor | np.ndarray, se_means: tuple[torch.Tensor, ...] | None = None
    ) -> torch.Tensor:
        """N x H x W x 3 tiles in [0, 1] to N x sH x sW x 3 float32, on the model's device.

        With `se_means`, squeeze-excitation blocks use them instead of each tile's own
        (models/runtimes/se_sync.py).
        """
        tensor = self._to_device(tiles)
        if se_means is None or self.se_sync is None:
            return _to_windows(self.descriptor(tensor))
        with self.se_sync.shared(se_means):
            return _to_windows(self.descriptor(tensor))

    @torch.inference_mode()
    def _run_parts(
        self, parts: _RRDBParts, windows: torch.Tensor | np.ndarray, regions: Sequence[Region], side: int
    ) -> list[torch.Tensor]:
        """The kept regions' output of a batch of windows: the trunk on the windows, then each region's."""
        features = parts.trunk(self._to_device(windows))
        return [
            parts.upsample(features[n : n + 1], region, self.native_scale, side)
            for n, region in enumerate(regions)
        ]


def load_descriptor(path: Path) -> ImageModelDescriptor:
    """Load a `.pth`/`.safetensors` file that spandrel, or one of our added architectures, recognises."""
    register_architectures()
    descriptor = ModelLoader().load_from_file(path)
    if not isinstance(descriptor, ImageModelDescriptor):
        raise ValueError(f"{path.name} is not a single-image model")
    return descriptor


def load_spandrel(path: Path, device: str | None = None, cpu_precision: str = "fp32") -> SpandrelUpscaler:
    """Load a model file for running on `device` (cpu, cuda, mps; None: CUDA if present, else the CPU), in
    `cpu_precision` (fp32 or bf16) where that is the CPU; fp16 on a GPU."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return SpandrelUpscaler(load_descriptor(path), torch.device(device), cpu_precision)
