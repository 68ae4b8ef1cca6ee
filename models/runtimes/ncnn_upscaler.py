"""The ncnn backend: official .param/.bin files (Real-ESRGAN, waifu2x upconv_7) on the CPU or a Vulkan GPU.

Our torch weights are converted from these very files (models/convert/ncnn_convert.py), so both backends
compute one network; the windows, bands, flat guard and alpha are models/runtimes/tiled_upscaler.py's, as for
torch. Like the torch path, an RRDB graph runs in two parts: the trunk on whole windows (extracted at the
blob the first upsampling reads), then the upsampler fed that blob for the kept region only; ncnn computes
nothing upstream of a blob it is given.

On the CPU ncnn runs fp32 with its Winograd convolutions (docs/benchmarks.md, "Runtimes": faster than torch
fp32 on Compact and upconv_7, not on RRDB within the same memory); on Vulkan it keeps ncnn's defaults (fp16
storage and arithmetic where the device has them), as realesrgan-ncnn-vulkan does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from models.imaging.tiling import Network, Region, RegionNetwork, Tile
from models.runtimes.heap import release_freed_memory, reuse_freed_memory
from models.runtimes.ncnn_format import NcnnLayer, parse_param
from models.runtimes.tiled_upscaler import CPU_ACTIVATION_BUDGET, SizeRule, TiledUpscaler, in_sub_tiles
from models.spec import NcnnGraph as NcnnGraphKind
from models.spec import ProgressFn

# Peak resident memory of one fp32 ncnn pass per window pixel over what the loaded net holds, on 256 and
# 384 pixel windows (2 threads): an RRDB trunk 13.6 / 12.6 KB (12 KB per added pixel: ncnn's Winograd
# buffers of the dense blocks' 192-channel inputs; torch's trunk needs 3.9), a whole Compact x4 graph 2.9.
# Windows keep within the CPU activation budget as torch's do, so an RRDB graph runs in smaller windows.
# waifu2x upconv_7 (up to 256 channels at input resolution): 5.9 / 5.2 KB.
_BYTES_PER_PIXEL = {"ESRGAN": 12_000, "Compact": 2_900, "Waifu2xUpConv7": 5_500}
# On Vulkan, windows take at most this share of the device's heap budget (what ncnn says it may use).
_VULKAN_HEAP_SHARE = 0.5


@dataclass(frozen=True)
class NcnnGraph:
    """What the engine needs of an ncnn .param: its network, scale, and the blobs it reads and extracts."""

    architecture: str  # ESRGAN (RRDBNet), Compact (SRVGGNetCompact), Waifu2xUpConv7, as spandrel names them
    scale: int
    input: str
    output: str
    trunk: str | None  # an RRDB graph's trunk output: what its first upsampling reads
    reach: int  # input pixels the upsampler reads beyond its own, over all its convolutions
    prepad: int = 0  # edge pixels repeated around a window, for a graph of unpadded convolutions

    @classmethod
    def read(cls, param: Path, kind: NcnnGraphKind = "realesrgan") -> NcnnGraph:
        layers = parse_param(param.read_text(encoding="utf-8"))
        inputs = [layer.outputs[0] for layer in layers if layer.type == "Input"]
        output = layers[-1].outputs[0]
        if kind == "waifu2x-upconv7":
            # Seven unpadded 3x3 convolutions and a 4x4 stride-2 transposed one, as waifu2x-ncnn-vulkan
            # feeds it: the window with 7 edge pixels repeated around it (models/runtimes/arch/waifu2x.py).
            return cls("Waifu2xUpConv7", 2, inputs[0], output, None, 0, prepad=7)
        if kind != "realesrgan":
            raise ValueError(f"the ncnn backend has no {kind} graphs")
        if any(layer.type == "PReLU" for layer in layers):
            return cls("Compact", 4, inputs[0], output, None, 0)
        first_interp = next(i for i, layer in enumerate(layers) if layer.type == "Interp")
        trunk = layers[first_interp].inputs[0]
        return cls("ESRGAN", 4, inputs[0], output, trunk, _reach(layers[first_interp:]))


def _reach(upsampler: Sequence[NcnnLayer]) -> int:
    reach, resolution = 0.0, 1.0
    for layer in upsampler:
        if layer.type == "Interp":
            resolution *= float(layer.params.get(1, "1"))
        elif layer.type == "Convolution":
            kernel, dilation = int(layer.params.get(1, "1")), int(layer.params.get(2, "1"))
            reach += (kernel // 2) * dilation / resolution
    return math.ceil(reach)


class NcnnUpscaler(TiledUpscaler):
    """One official graph on ncnn: the CPU (`vulkan` None) or the Vulkan device of that index."""

    def __init__(
        self,
        param: Path,
        weights: Path,
        vulkan: int | None = None,
        kind: NcnnGraphKind = "realesrgan",
    ) -> None:
        import ncnn

        self.graph = NcnnGraph.read(param, kind)
        super().__init__(self.graph.architecture, self.graph.scale, SizeRule())
        self._ncnn = ncnn
        net = ncnn.Net()
        if vulkan is None:
            net.opt.use_vulkan_compute = False
            # fp32 as torch's exact path; x86 CPUs without fp16 arithmetic would gain nothing from fp16.
            net.opt.use_fp16_storage = False
            net.opt.use_fp16_packed = False
            net.opt.use_fp16_arithmetic = False
            net.opt.num_threads = torch.get_num_threads()  # the worker's thread count, as torch's
            reuse_freed_memory()
        else:
            net.opt.use_vulkan_compute = True
            net.set_vulkan_device(vulkan)
        self.vulkan = vulkan
        net.load_param(str(param))
        net.load_model(str(weights))
        self.net = net

    @property
    def device_type(self) -> str:
        return "cpu" if self.vulkan is None else "vulkan"

    def window_budget(self) -> tuple[int, int]:
        per_pixel = _BYTES_PER_PIXEL[self.architecture]
        if self.vulkan is None:
            return CPU_ACTIVATION_BUDGET // per_pixel, 1
        heap = self._ncnn.get_gpu_device(self.vulkan).get_heap_budget() * 2**20  # ncnn says MiB
        # fp16 storage halves what fp32 measured; one window at a time, as ncnn's own tools run.
        return int(heap * _VULKAN_HEAP_SHARE // (per_pixel // 2)), 1

    def network(self, rgb: torch.Tensor, grid: list[Tile], batch: int) -> Network:
        if self.graph.trunk is None:
            return self._forward
        return RegionNetwork(partial(self._run_parts, side=self.upsampler_side(grid)))

    def release(self) -> None:
        if self.vulkan is None:
            release_freed_memory()

    def report_within(self, progress: ProgressFn | None) -> None:
        """ncnn runs a window's layers in one call that reports nothing: its passes move once per batch."""

    def _extract(self, blob: str, data: np.ndarray, output: str) -> np.ndarray:
        """The `output` blob (C x H x W float32) with `data` (C x H x W) given as `blob`."""
        data = np.ascontiguousarray(data)  # ncnn.Mat wraps this memory: it must outlive the extraction
        with self.net.create_extractor() as extractor:
            extractor.input(blob, self._ncnn.Mat(data))
            status, out = extractor.extract(output)
            if status != 0:
                raise RuntimeError(f"ncnn failed to compute {output} (status {status})")
            result = np.array(out)
            del out
        return result

    def _forward(self, windows: torch.Tensor) -> torch.Tensor:
        """N x H x W x 3 windows (host tensors) to N x 4H x 4W x 3, one at a time."""
        return torch.from_numpy(np.stack([self._whole(window) for window in windows.numpy()]))

    def _whole(self, window: np.ndarray) -> np.ndarray:
        if self.graph.prepad:
            pad = self.graph.prepad
            window = np.pad(window, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        out = self._extract(self.graph.input, window.transpose(2, 0, 1), self.graph.output)
        result: np.ndarray = np.clip(out, 0.0, 1.0, out=out).transpose(1, 2, 0)
        return result

    def _run_parts(self, windows: torch.Tensor, regions: Sequence[Region], side: int) -> list[torch.Tensor]:
        """The kept regions' output: each window's trunk, then the upsampler on sub-tiles of its region."""
        trunk, scale = self.graph.trunk, self.graph.scale
        assert trunk is not None
        results = []
        for window, region in zip(windows.numpy(), regions, strict=True):
            features = self._extract(self.graph.input, window.transpose(2, 0, 1), trunk)

            def run(context: Region, kept: Region, features: np.ndarray = features) -> torch.Tensor:
                (my0, my1, mx0, mx1), (ky0, ky1, kx0, kx1) = context, kept
                part = self._extract(trunk, features[:, my0:my1, mx0:mx1], self.graph.output)
                kept_part = part[:, ky0 * scale : ky1 * scale, kx0 * scale : kx1 * scale]
                return torch.from_numpy(np.clip(kept_part, 0.0, 1.0).transpose(1, 2, 0))

            size = (features.shape[1], features.shape[2])
            results.append(
                in_sub_tiles(region, size, scale, side, self.graph.reach, run, torch.device("cpu"))
            )
        return results


def load_ncnn(
    param: Path, weights: Path, vulkan: int | None = None, kind: NcnnGraphKind = "realesrgan"
) -> NcnnUpscaler:
    """Load an official .param/.bin pair for the CPU (`vulkan` None) or that Vulkan device."""
    return NcnnUpscaler(param, weights, vulkan, kind)
