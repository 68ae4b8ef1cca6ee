"""The faithful model as a service model: bicubic to the target size, plus the network's luma detail.

Native passes at x2, x3 and x4; x8 is the x4 pass then Lanczos x2, the engine's rule for every model
(one native pass + Lanczos beat two passes by 1.5-1.7 dB, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import torch

from models.imaging.bands import Band, band_rows, in_bands_of, resize_bands, resize_rows
from models.imaging.resample import Filter
from models.imaging.tiling import TensorBand, tiled_bands
from models.runtimes.faithful import NATIVE_SCALES, WEIGHTS_PATH, FaithfulNet, load_faithful
from models.runtimes.srcnn import rgb_to_ycbcr, ycbcr_to_rgb
from models.spec import ProgressFn

# Low-resolution tile core; with the network's 15 pixels of context a window is 286 pixels. The network
# sees exactly `radius` pixels either side, so tiles with that much context equal one whole pass (no
# cross-fade needed); measured in tests/models/test_faithful.py.
_TILE = 256


class FaithfulUpscaler:
    """Runs the faithful weights on CPU (or CUDA where present) in tiles, streamed as row bands."""

    native_scales = NATIVE_SCALES

    def __init__(self, network: FaithfulNet, device: torch.device | None = None, tile: int = _TILE) -> None:
        self.device = device or torch.device("cpu")
        # channels_last measured 1.7x faster for these convolutions on CPU.
        self.network = network.to(self.device).to(memory_format=torch.channels_last)
        self.tile = tile

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]:
        """Exactly (H*scale) x (W*scale) x 3, top to bottom; x8 (or any non-native scale) resamples x4."""
        height, width = rgb.shape[:2]
        if scale in NATIVE_SCALES:
            yield from self._native(rgb, scale, progress)
            return
        native = max(NATIVE_SCALES)
        yield from resize_bands(
            self._native(rgb, native, progress),
            height * native,
            width * scale,
            height * scale,
            Filter.LANCZOS,
        )

    def _native(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]:
        """One native pass: the network's luma detail tile by tile, added to bicubic band by band."""
        height, width = rgb.shape[:2]
        out_h, out_w = height * scale, width * scale
        detail = (
            (row0, rows.cpu().numpy())
            for row0, rows in self.luma_detail(rgb_to_ycbcr(rgb)[:, :, :1], scale, progress)
        )
        for row0, rows in in_bands_of(detail, band_rows(out_w, 3)):
            bicubic = np.clip(
                resize_rows(rgb, out_w, out_h, row0, row0 + len(rows), Filter.BICUBIC), 0.0, 1.0
            )
            ycc = rgb_to_ycbcr(bicubic)
            ycc[:, :, :1] += rows
            yield row0, np.clip(ycbcr_to_rgb(ycc), 0.0, 1.0)

    def luma_detail(self, luma: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[TensorBand]:
        """The network's output (H*scale x W*scale x 1) for an H x W x 1 luma plane, in bands on its device.

        The borders are extended by edge replication as far as the network sees, so a pixel at the
        border is computed like one inside (a zero border would read as a dark edge and ring).
        """
        pad = self.network.radius
        padded = torch.from_numpy(np.pad(luma, ((pad, pad), (pad, pad), (0, 0)), mode="edge")).to(self.device)
        bands = tiled_bands(
            padded,
            partial(self._forward, scale=scale),
            scale=scale,
            out_channels=1,
            tile=self.tile,
            pad=pad,
            progress=progress,
        )
        return _crop(bands, pad * scale, luma.shape[0] * scale, luma.shape[1] * scale)

    @torch.inference_mode()
    def _forward(self, tiles: torch.Tensor, scale: int) -> torch.Tensor:
        """N x H x W x 1 luma windows to N x sH x sW x 1 detail, on the network's device."""
        tensor = tiles.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        detail: torch.Tensor = self.network(tensor, scale).float().permute(0, 2, 3, 1)
        return detail


def _crop(bands: Iterable[TensorBand], margin: int, height: int, width: int) -> Iterator[TensorBand]:
    """The height x width region `margin` rows and columns in from the top left of a banded image."""
    for row0, rows in bands:
        top, bottom = max(row0, margin), min(row0 + len(rows), margin + height)
        if top < bottom:
            yield top - margin, rows[top - row0 : bottom - row0, margin : margin + width].contiguous()


def load(_models_dir: Path | None = None, device: str | None = None) -> FaithfulUpscaler:
    """The zoo's loader: the committed weights on `device` (None: CUDA if present, else the CPU)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return FaithfulUpscaler(load_faithful(WEIGHTS_PATH), torch.device(device))
