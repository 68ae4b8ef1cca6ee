"""SRCNN (Dong et al. 2014), the small CPU super-resolution network, and the colour maths it works in.

The network refines the luma of an image that was already upscaled with bicubic to the target size; chroma
stays bicubic, because the eye resolves detail mostly in luma (the paper makes the same choice).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

WEIGHTS_PATH = Path(__file__).parents[1] / "weights" / "srcnn.safetensors"

# Full-range ITU-R BT.601, as in JPEG/JFIF: Y, Cb, Cr all span [0, 1] (Cb, Cr centred on 0.5).
_RGB_TO_YCC = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168735892, -0.331264108, 0.5],
        [0.5, -0.418687589, -0.081312411],
    ],
    dtype=np.float64,
)
# Inverted in float64 rather than taken from the rounded textbook constants, so both directions are exact
# inverses of each other up to float32 rounding.
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)
_CHROMA_OFFSET = np.array([0.0, 0.5, 0.5], dtype=np.float64)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """Convert a float32 HxWx3 RGB image in [0, 1] to full-range BT.601 YCbCr in [0, 1]."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 array, got shape {rgb.shape}")
    ycc = rgb.astype(np.float64) @ _RGB_TO_YCC.T + _CHROMA_OFFSET
    return ycc.astype(np.float32)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Convert a float32 HxWx3 full-range BT.601 YCbCr image back to RGB; the exact inverse of rgb_to_ycbcr.

    Values are not clipped: a refined luma can leave the RGB gamut slightly and the caller decides how to
    clip.
    """
    if ycc.ndim != 3 or ycc.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 array, got shape {ycc.shape}")
    rgb = (ycc.astype(np.float64) - _CHROMA_OFFSET) @ _YCC_TO_RGB.T
    return rgb.astype(np.float32)


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    # nn.Conv2d types its bias as optional; these layers are always built with one.
    assert conv.bias is not None
    return conv.bias


def _replicate_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    # "Same" padding by edge replication rather than zeros: a zero border looks like a dark edge to the
    # network, which would sharpen it into a halo along every image (and every flat image) border.
    pad = weight.shape[-1] // 2
    return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="replicate"), weight, bias)


class SRCNN(nn.Module):
    """The 3-layer SRCNN (9x9 conv 1->64, ReLU, 5x5 conv 64->32, ReLU, 5x5 conv 32->1) on luma in [0, 1].

    Input and output are N x 1 x H x W tensors of the same size; the input is the bicubic-upscaled luma.

    Residual learning: forward(y) returns y + net(y), so the layers only predict the detail that bicubic
    lost. This converges quickly and reliably with Adam in a few CPU minutes, where the original
    formulation (predicting the whole image) needs days of SGD.

    Two constraints make flat regions stay exactly flat, whatever the trained weights are: the first
    layer's kernels are projected to sum to zero (it sees only local variation, not the brightness level),
    and the last bias is shifted so that a constant input gets exactly zero correction. Both are applied
    in `effective_parameters`, used by forward and when saving, so a saved file holds a plain SRCNN.
    """

    def __init__(self) -> None:
        super().__init__()
        # padding=0: forward pads by replication itself (see _replicate_conv).
        self.conv1 = nn.Conv2d(1, 64, kernel_size=9)
        self.conv2 = nn.Conv2d(64, 32, kernel_size=5)
        self.conv3 = nn.Conv2d(32, 1, kernel_size=5)
        # A near-zero last layer makes the untrained network start as plain bicubic (the SRCNN paper's
        # 1e-3 initialisation of the reconstruction layer).
        nn.init.normal_(self.conv3.weight, std=1e-3)
        nn.init.zeros_(_bias(self.conv3))

    def effective_parameters(self) -> dict[str, torch.Tensor]:
        """The parameters forward really uses, after the flat-stays-flat projection; what is saved."""
        b1, b2, b3 = _bias(self.conv1), _bias(self.conv2), _bias(self.conv3)
        w1 = self.conv1.weight - self.conv1.weight.mean(dim=(2, 3), keepdim=True)
        # With zero-sum first kernels and replicated borders, a constant image gives the same constant
        # activations everywhere: relu(b1), then relu(sum(W2) relu(b1) + b2), then the correction below.
        flat1 = torch.relu(b1)
        flat2 = torch.relu(self.conv2.weight.sum(dim=(2, 3)) @ flat1 + b2)
        flat3 = self.conv3.weight.sum(dim=(2, 3)) @ flat2 + b3
        return {
            "conv1.weight": w1,
            "conv1.bias": b1,
            "conv2.weight": self.conv2.weight,
            "conv2.bias": b2,
            "conv3.weight": self.conv3.weight,
            "conv3.bias": b3 - flat3,
        }

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Refine bicubic-upscaled luma (N x 1 x H x W, values in [0, 1]); the result is not clipped."""
        p = self.effective_parameters()
        h = torch.relu(_replicate_conv(y, p["conv1.weight"], p["conv1.bias"]))
        h = torch.relu(_replicate_conv(h, p["conv2.weight"], p["conv2.bias"]))
        return y + _replicate_conv(h, p["conv3.weight"], p["conv3.bias"])

    def export_state_dict(self) -> dict[str, torch.Tensor]:
        """The effective parameters as contiguous float32 CPU tensors, ready for safetensors."""
        with torch.no_grad():
            return {
                name: t.detach().to(torch.float32).cpu().contiguous()
                for name, t in self.effective_parameters().items()
            }


def load_srcnn(path: Path) -> SRCNN:
    """Load SRCNN weights from a .safetensors file, in float32 and eval mode, ready for inference."""
    network = SRCNN()
    network.load_state_dict(load_file(str(path), device="cpu"))
    return network.to(torch.float32).eval()
