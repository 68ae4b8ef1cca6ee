"""SRCNN as a service model: bicubic to the target size, then the network refines luma tile by tile."""

from __future__ import annotations

import numpy as np
import torch

from models.registry import ProgressFn
from models.resample import Filter, resize
from models.srcnn import SRCNN, load_srcnn, rgb_to_ycbcr, ycbcr_to_rgb
from models.tiling import run_tiled

# The network's receptive field is 9 + 5 + 5 - 2 = 17 pixels, radius 8: this pad makes tiling exact.
_PAD = 8
_TILE = 512


class SRCNNUpscaler:
    """Runs the committed SRCNN weights on CPU (57k parameters)."""

    def __init__(self, network: SRCNN) -> None:
        self.network = network

    def upscale(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> np.ndarray:
        height, width = rgb.shape[:2]
        ycc = rgb_to_ycbcr(resize(rgb, width * scale, height * scale, Filter.BICUBIC))
        luma = run_tiled(
            ycc[:, :, :1], self._refine, scale=1, out_channels=1, tile=_TILE, pad=_PAD, progress=progress
        )
        ycc[:, :, :1] = luma
        result: np.ndarray = np.clip(ycbcr_to_rgb(ycc), 0.0, 1.0)
        return result

    @torch.inference_mode()
    def _refine(self, luma: np.ndarray) -> np.ndarray:
        """N x H x W x 1 luma tiles in, the same refined out."""
        tensor = torch.from_numpy(np.ascontiguousarray(luma.transpose(0, 3, 1, 2)))
        refined: np.ndarray = self.network(tensor).numpy().transpose(0, 2, 3, 1)
        return refined


def load(_models_dir: object) -> SRCNNUpscaler:
    from models.srcnn import WEIGHTS_PATH

    return SRCNNUpscaler(load_srcnn(WEIGHTS_PATH))
