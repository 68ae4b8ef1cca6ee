"""Tiled inference above any runtime: windows, bands, resampling to the target scale and the flat guard.

A backend (torch through spandrel in models/runtimes/spandrel_upscaler.py, ncnn in
models/runtimes/ncnn_upscaler.py) says how large a window may be and how a batch of windows runs; everything
else is this one implementation, so a model gives the same image on every backend (within their arithmetic).

Each window carries `pad` pixels of real context that are cropped after the pass, which keeps seams below
visibility; windows are as large as a memory budget allows (`plan_tiles`), and RRDB networks run their
upsampler only on the part of each window that is kept (a `RegionNetwork`). Output leaves as row bands as
soon as a row of windows is done.

The whole pipeline runs in torch tensors on the model's device (`device_bands`): the image is moved there
once, windows are cut and batched there, their output is cross-faded into a band there, and the flat guard
and the resampling to the requested scale run there too, so on a GPU only finished bands cross to the host
(models/engine.py quantises them there first). On the CPU the same code runs on CPU tensors, which share the
host's memory: nothing is copied for them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from models.imaging.bands import Band
from models.imaging.device_resample import resize_tensor_bands
from models.imaging.flat_guard import flat_mask, keep_flat_rows
from models.imaging.resample import Filter
from models.imaging.tiling import (
    Network,
    Region,
    TensorBand,
    Tile,
    crop_bands,
    padded_size,
    plan_tiles,
    tile_grid,
    tiled_bands,
)
from models.spec import ProgressFn

# Context around each tile (input pixels) by spandrel architecture, and the cross-fade band at inner tile
# edges. Measured as tiled against whole on a natural photo (bench/seams.py, docs/benchmarks.md): Compact
# nets are exact from 32; RRDB nets see far, and realesrgan-x4plus left steps of 13 levels at tile edges
# with 32 of context, 2 with 48, 0.1 with 64. Real-CUGAN and waifu2x cunet, whose tiles share their
# squeeze-excitation means (models/runtimes/se_sync.py), are exact (<= 0.01 levels) from 24; at 16 Real-CUGAN
# 2x left 0.36 levels, at 8 7.2. waifu2x upconv_7 sees 7 pixels, but the cross-fade reaches 8 pixels into the
# context: exact from 16, 1.6 levels at 8. Architectures not measured get the widest.
_PADS = {"Compact": 32, "RealCUGAN": 24, "Waifu2xCUNet": 24, "Waifu2xUpConv7": 16}
_DEFAULT_PAD = 64
FEATHER = 16
# CPU windows hold as many pixels as keep one pass's activations within this budget (bytes per window pixel
# are each backend's measurement).
CPU_ACTIVATION_BUDGET = 2**30
# An RRDB upsampler's peak per output pixel (64-channel maps at 2x and 4x: 10.5 KB per input pixel at 4x);
# its sub-tiles get half the budget.
UPSAMPLER_BYTES_PER_OUTPUT_PIXEL = 660
# On a GPU an upsampler's sub-tile is at most this many output pixels a side: its 64-channel maps then hold
# 2^28 elements, far below the 2^31 that some cuDNN kernels can index.
GPU_UPSAMPLER_OUTPUT = 2048


def in_sub_tiles(
    region: Region,
    size: tuple[int, int],
    scale: int,
    side: int,
    reach: int,
    run: Callable[[Region, Region], torch.Tensor],
    device: torch.device,
) -> torch.Tensor:
    """The output of `region` of a window of `size` (rows, columns), computed in sub-tiles of `side`.

    For a network part that sees only `reach` pixels around each one (an RRDB upsampler): each sub-tile runs
    on itself plus that context, clamped to the window. `run(context, kept)` gets the context region (in the
    window) and the sub-tile within it, and returns the sub-tile's output, H x W x 3 at `scale`, on `device`.
    """
    y0, y1, x0, x1 = region
    height, width = size
    out = torch.empty(((y1 - y0) * scale, (x1 - x0) * scale, 3), dtype=torch.float32, device=device)
    for sy0 in range(y0, y1, side):
        sy1 = min(y1, sy0 + side)
        my0, my1 = max(0, sy0 - reach), min(height, sy1 + reach)
        for sx0 in range(x0, x1, side):
            sx1 = min(x1, sx0 + side)
            mx0, mx1 = max(0, sx0 - reach), min(width, sx1 + reach)
            kept = (sy0 - my0, sy1 - my0, sx0 - mx0, sx1 - mx0)
            out[(sy0 - y0) * scale : (sy1 - y0) * scale, (sx0 - x0) * scale : (sx1 - x0) * scale] = run(
                (my0, my1, mx0, mx1), kept
            )
    return out


@dataclass(frozen=True)
class SizeRule:
    """The input sizes a network accepts: a minimum side, a multiple, and whether it must be square."""

    minimum: int = 0
    multiple_of: int = 1
    square: bool = False


class TiledUpscaler(ABC):
    """One network at its native scale on some backend, resampled to the requested scale where they differ.

    `architecture` is spandrel's id of the network (ESRGAN, Compact, RealCUGAN, ...): it sets the context.
    """

    def __init__(self, architecture: str, native_scale: int, sizes: SizeRule) -> None:
        self.architecture = architecture
        self._native_scale = native_scale
        self.sizes = sizes
        self.pad = _PADS.get(architecture, _DEFAULT_PAD)

    @property
    def native_scale(self) -> int:
        return self._native_scale

    @property
    @abstractmethod
    def device_type(self) -> str:
        """Where the windows run: cpu, cuda, mps or vulkan."""

    @property
    def tensor_device(self) -> torch.device:
        """Where the pipeline's tensors live: the model's torch device; the host for ncnn (even on Vulkan,
        whose memory torch cannot reach)."""
        return torch.device("cpu")

    @abstractmethod
    def window_budget(self) -> tuple[int, int]:
        """The most pixels one batch of windows may hold (one window, if that is all that runs), and the
        most windows one batch may run."""

    @abstractmethod
    def network(self, rgb: torch.Tensor, grid: list[Tile], batch: int) -> Network:
        """What runs this image's windows (`rgb` is the image on `tensor_device`): N x H x W x 3 windows in,
        their output out, tensors on that device (models/imaging/tiling.py)."""

    @abstractmethod
    def release(self) -> None:
        """Called after each pass: give back what the pass held (the CPU backends' freed heap)."""

    @abstractmethod
    def report_within(self, progress: ProgressFn | None) -> None:
        """Where to report how far into the running batch of windows the network is (the fraction of the
        batch), or None between batches; a backend that cannot tell ignores it (its pass moves once per
        batch)."""

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]:
        """`device_bands` on the host, in float32 (views of the tensors on the CPU)."""
        for row0, rows in self.device_bands(rgb, scale, progress):
            yield row0, rows.cpu().numpy()

    def device_bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[TensorBand]:
        """One native pass, then Lanczos to the exact target size, streamed in bands on `tensor_device`.

        For 8x with a 4x model this beat a second native pass by 1.5-1.7 dB Y-PSNR on every model
        (bench/quality.py, docs/benchmarks.md), at a quarter of the cost.
        """
        height, width = rgb.shape[:2]
        plan = self.plan(height, width)
        padded_h, padded_w = plan[2:]
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        if (padded_h, padded_w) != (height, width):
            # An image the network cannot take as it is, padded on the host before it moves (reflected, as
            # Real-CUGAN pads itself); the padding's output is cropped off again.
            rgb = np.pad(rgb, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="reflect")
        padded = torch.from_numpy(rgb).to(self.tensor_device)
        source = padded[:height, :width]
        scaled = self.native_scale
        native = crop_bands(self._native(padded, progress, plan), height * scaled, width * scaled)
        if scale != scaled:
            native = resize_tensor_bands(
                native, height * scaled, width * scale, height * scale, Filter.LANCZOS
            )
        flat = flat_mask(source)
        for row0, rows in native:
            yield row0, keep_flat_rows(source, flat, rows, row0, scale)

    def plan(self, height: int, width: int) -> tuple[tuple[int, int], int, int, int]:
        """Tile cores (rows, columns), batch, and the size the image is padded to (height, width).

        `window_budget` gives the pixels one batch may hold: the windows are planned as large as that allows
        (an image that fits runs whole, with no context computed twice), and the batch is as many windows
        of the planned size as fit in it, at most the budget's own batch.
        """
        rule = self.sizes
        padded_h, padded_w = padded_size(height, width, 0, rule.minimum, rule.multiple_of)
        max_pixels, batch = self.window_budget()
        tile = plan_tiles(
            padded_h, padded_w, self.pad, max_pixels, rule.minimum, rule.multiple_of, rule.square
        )
        if rule.square:
            window = tile[0] + 2 * self.pad
            padded_h, padded_w = padded_size(padded_h, padded_w, window, rule.minimum, rule.multiple_of, True)
        first = tile_grid(padded_h, padded_w, tile, self.pad)[0]
        window_pixels = (first.py1 - first.py0) * (first.px1 - first.px0)
        return tile, max(1, min(batch, max_pixels // window_pixels)), padded_h, padded_w

    def upsampler_tile(self) -> int:
        """Side of an RRDB upsampler's sub-tiles on CPU: half the activation budget."""
        per_pixel = UPSAMPLER_BYTES_PER_OUTPUT_PIXEL * self.native_scale**2
        return math.isqrt(CPU_ACTIVATION_BUDGET // 2 // per_pixel)

    def upsampler_side(self, grid: list[Tile]) -> int:
        """Side of an RRDB upsampler's sub-tiles for this grid: a whole window on a GPU (CUDA's and Vulkan's
        window budgets were sized for whole-network windows, more than the trunk plus one window's upsampler
        ever hold at once) up to `GPU_UPSAMPLER_OUTPUT` output pixels a side, `upsampler_tile` elsewhere."""
        if self.device_type in ("cuda", "vulkan"):
            side = max(grid[0].py1 - grid[0].py0, grid[0].px1 - grid[0].px0)
            return min(side, GPU_UPSAMPLER_OUTPUT // self.native_scale)
        return self.upsampler_tile()

    def _native(
        self,
        rgb: torch.Tensor,
        progress: ProgressFn,
        plan: tuple[tuple[int, int], int, int, int] | None = None,
    ) -> Iterator[TensorBand]:
        """One native pass in tiles, streamed in bands, over an image of a size the network takes (the
        padded size of its `plan`; `device_bands` pads it)."""
        tile, batch, padded_h, padded_w = plan or self.plan(*rgb.shape[:2])
        grid = tile_grid(padded_h, padded_w, tile, self.pad)
        bands = tiled_bands(
            rgb,
            self.network(rgb, grid, batch),
            scale=self.native_scale,
            out_channels=3,
            tile=tile,
            pad=self.pad,
            feather=FEATHER,
            batch=batch,
            progress=progress,
            within=self.report_within,
        )
        try:
            yield from bands
        finally:
            self.report_within(None)
            self.release()
