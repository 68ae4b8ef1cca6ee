"""SRCNN as a service model: bicubic to the target size, then the network refines luma tile by tile."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from models.imaging.bands import Band, assemble, band_rows, resize_rows
from models.imaging.resample import Filter
from models.imaging.tiling import tiled_bands
from models.runtimes.srcnn import SRCNN, load_srcnn, rgb_to_ycbcr, ycbcr_to_rgb
from models.spec import ProgressFn

# The network's receptive field is 9 + 5 + 5 - 2 = 17 pixels, radius 8: this pad makes tiling exact.
_PAD = 8
_TILE = 512


class SRCNNUpscaler:
    """Runs the committed SRCNN weights on CPU (57k parameters)."""

    def __init__(self, network: SRCNN) -> None:
        self.network = network

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]:
        """Bands of bicubic output with the network's context above and below, refined, then cropped."""
        height, width = rgb.shape[:2]
        out_h, out_w = height * scale, width * scale
        step = band_rows(out_w, 3)
        for row0 in range(0, out_h, step):
            row1 = min(out_h, row0 + step)
            lo, hi = max(0, row0 - _PAD), min(out_h, row1 + _PAD)
            ycc = rgb_to_ycbcr(np.clip(resize_rows(rgb, out_w, out_h, lo, hi, Filter.BICUBIC), 0.0, 1.0))
            luma = tiled_bands(
                torch.from_numpy(ycc[:, :, :1]), self._refine, scale=1, out_channels=1, tile=_TILE, pad=_PAD
            )
            ycc[:, :, :1] = assemble(((row0, rows.numpy()) for row0, rows in luma), hi - lo)
            yield row0, np.clip(ycbcr_to_rgb(ycc[row0 - lo : row1 - lo]), 0.0, 1.0)
            progress(row1 / out_h)

    @torch.inference_mode()
    def _refine(self, luma: torch.Tensor) -> torch.Tensor:
        """N x H x W x 1 luma tiles in, the same refined out."""
        refined: torch.Tensor = self.network(luma.permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1)
        return refined


def load(_models_dir: object) -> SRCNNUpscaler:
    from models.runtimes.srcnn import WEIGHTS_PATH

    return SRCNNUpscaler(load_srcnn(WEIGHTS_PATH))
