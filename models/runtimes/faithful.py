"""The faithful network: the most accurate upscale we can make, trained for PSNR (L1), never with a GAN.

A residual network on the low-resolution luma: its features stay at the input's size and a per-scale
sub-pixel convolution turns them into the detail that bicubic lost, added to the bicubic upscale. Chroma
stays bicubic (the eye resolves detail in luma, and colour is never invented). One body serves x2, x3 and
x4 (shared features, one small tail per scale), trained by training/train_faithful.py on this project's CPUs.

Flat stays flat, exactly, whatever the weights: the first layer's kernels sum to zero, so the network sees
only local variation, and each tail's bias is shifted so that a constant input gets zero correction (the
same construction as models/runtimes/srcnn.py). The saved file holds these effective parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

WEIGHTS_NAME = "faithful.safetensors"
WEIGHTS_PATH = Path(__file__).parents[1] / "weights" / WEIGHTS_NAME
# The committed file's sha256 (tests check it): written by
# `python -m training.train_faithful --device cuda --batch 64 --steps 12000` (seed 0) on an NVIDIA H200 in
# 4.9 min, 2026-11-26 (docs/benchmarks.md, "Faithful preset"). The same command on another GPU or on the
# CPU trains the same way with other rounding, so its file differs in the last bits, not in quality.
WEIGHTS_SHA256 = "a5a0d912efad0c1f9afed1fa98cac2a3e495a6e66ecd7b8057102bae145ab529"
NATIVE_SCALES = (2, 3, 4)


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    assert conv.bias is not None  # every layer here is built with one
    return conv.bias


def _flat(conv: nn.Conv2d, value: torch.Tensor) -> torch.Tensor:
    """A convolution's output on a spatially constant map (away from the zero padding)."""
    flat: torch.Tensor = conv.weight.sum(dim=(2, 3)) @ value + _bias(conv)
    return flat


class ResidualBlock(nn.Module):
    """conv 3x3, ReLU, conv 3x3, plus the input (EDSR's block without batch norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.conv2(torch.relu(self.conv1(x)))
        return out

    def flat(self, value: torch.Tensor) -> torch.Tensor:
        return value + _flat(self.conv2, torch.relu(_flat(self.conv1, value)))


class FaithfulNet(nn.Module):
    """Low-resolution luma (N x 1 x H x W, [0, 1]) to the residual over bicubic (N x 1 x sH x sW).

    head conv 1 -> C, `blocks` residual blocks, a body conv with a skip from the head, then per scale a
    conv C -> s^2 and a pixel shuffle. The caller adds the bicubic upscale of the luma.
    """

    def __init__(self, channels: int = 48, blocks: int = 6, scales: tuple[int, ...] = NATIVE_SCALES) -> None:
        super().__init__()
        self.channels, self.blocks, self.scales = channels, blocks, scales
        self.head = nn.Conv2d(1, channels, 3, padding=1)
        self.body = nn.ModuleList(ResidualBlock(channels) for _ in range(blocks))
        self.body_end = nn.Conv2d(channels, channels, 3, padding=1)
        self.tails = nn.ModuleDict({str(s): nn.Conv2d(channels, s * s, 3, padding=1) for s in scales})
        # Near-zero tails: the untrained network is plain bicubic, and training starts from there.
        for tail in self.tails.values():
            assert isinstance(tail, nn.Conv2d)
            nn.init.normal_(tail.weight, std=1e-3)
            nn.init.zeros_(_bias(tail))

    @property
    def radius(self) -> int:
        """Input pixels each output depends on, either side: one per 3x3 convolution. Tiling context."""
        return 2 * self.blocks + 3

    def _tail(self, scale: int) -> nn.Conv2d:
        tail = self.tails[str(scale)]
        assert isinstance(tail, nn.Conv2d)
        return tail

    def _head_weight(self) -> torch.Tensor:
        return self.head.weight - self.head.weight.mean(dim=(2, 3), keepdim=True)

    def _flat_response(self, scale: int) -> torch.Tensor:
        """What the tail would output on a constant image (any level, as the head kernels sum to zero)."""
        start = _bias(self.head)
        value = start
        for block in self.body:
            assert isinstance(block, ResidualBlock)
            value = block.flat(value)
        return _flat(self._tail(scale), _flat(self.body_end, value) + start)

    def forward(self, luma: torch.Tensor, scale: int) -> torch.Tensor:
        """The detail to add to the bicubic upscale of `luma`, at `scale` times its size."""
        start = F.conv2d(luma, self._head_weight(), _bias(self.head), padding=1)
        features = start
        for block in self.body:
            features = block(features)
        features = self.body_end(features) + start
        tail = self._tail(scale)
        bias = _bias(tail) - self._flat_response(scale)
        return F.pixel_shuffle(F.conv2d(features, tail.weight, bias, padding=1), scale)

    def export_state_dict(self) -> dict[str, torch.Tensor]:
        """The effective parameters (zero-sum head, shifted tail biases) as contiguous float32 tensors."""
        with torch.no_grad():
            state = {name: t.detach().clone() for name, t in self.state_dict().items()}
            state["head.weight"] = self._head_weight()
            for scale in self.scales:
                state[f"tails.{scale}.bias"] = _bias(self._tail(scale)) - self._flat_response(scale)
            return {name: t.to(torch.float32).cpu().contiguous() for name, t in state.items()}

    def metadata(self) -> dict[str, str]:
        """What load_faithful needs to rebuild the network, stored in the file's header."""
        return {
            "architecture": json.dumps(
                {"channels": self.channels, "blocks": self.blocks, "scales": self.scales}
            )
        }


def load_faithful(path: Path = WEIGHTS_PATH) -> FaithfulNet:
    """Load a saved FaithfulNet (shape from the file's metadata) in float32 eval mode, ready for inference.

    The saved head kernels already sum to zero and the saved biases are already shifted, so loading them
    into the training-time module reproduces the saved network exactly (the projection is idempotent and
    the flat response of an exported network is zero).
    """
    with safe_open(str(path), framework="pt") as handle:
        shape = json.loads((handle.metadata() or {})["architecture"])
    network = FaithfulNet(shape["channels"], shape["blocks"], tuple(shape["scales"]))
    network.load_state_dict(load_file(str(path), device="cpu"))
    return network.to(torch.float32).eval()
