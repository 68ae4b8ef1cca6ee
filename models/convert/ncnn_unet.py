"""State dicts from the U-Net-shaped ncnn graphs: Real-CUGAN (for spandrel's RealCUGAN) and waifu2x.

The graphs' weighted layers come in a fixed order, so each maps by position onto the key layout its torch
module uses; every position's ncnn layer type is checked, and spandrel's strict loading checks the shapes.

Real-CUGAN "pro" files get no ``pro`` marker: with it spandrel would map the input to ``x * 0.7 + 0.15``
and back, as the original PyTorch code does for the pro ``.pth`` files, but the ncnn pro weights take
[0, 1] directly (realcugan-ncnn-vulkan feeds them so, and with the mapping the output lost 1.1-2.9 dB
PSNR on three 2x-downscaled photos): the mapping is evidently folded into these weights.
"""

from __future__ import annotations

import torch

from models.runtimes.arch.waifu2x import CUNET_MARKER, UPCONV7_MARKER
from models.runtimes.ncnn_format import NcnnFormatError, NcnnLayer, WeightedLayer

__all__ = ["realcugan_state", "waifu2x_cunet_state", "waifu2x_upconv7_state"]

_CONV, _DECONV, _DENSE = "Convolution", "Deconvolution", "InnerProduct"


def _unet_conv(prefix: str, se: bool) -> list[tuple[str, str]]:
    """Two 3x3 convolutions, then a squeeze-excitation's two dense layers (1x1 convolutions in torch)."""
    keys = [(f"{prefix}.conv.0", _CONV), (f"{prefix}.conv.2", _CONV)]
    return keys + ([(f"{prefix}.seblock.conv1", _DENSE), (f"{prefix}.seblock.conv2", _DENSE)] if se else [])


def _unet1(bottom: str) -> list[tuple[str, str]]:
    return [
        *_unet_conv("unet1.conv1", se=False),
        ("unet1.conv1_down", _CONV),
        *_unet_conv("unet1.conv2", se=True),
        ("unet1.conv2_up", _DECONV),
        ("unet1.conv3", _CONV),
        ("unet1.conv_bottom", bottom),
    ]


_UNET2 = [
    *_unet_conv("unet2.conv1", se=False),
    ("unet2.conv1_down", _CONV),
    *_unet_conv("unet2.conv2", se=True),
    ("unet2.conv2_down", _CONV),
    *_unet_conv("unet2.conv3", se=True),
    ("unet2.conv3_up", _DECONV),
    *_unet_conv("unet2.conv4", se=True),
    ("unet2.conv4_up", _DECONV),
    ("unet2.conv5", _CONV),
    ("unet2.conv_bottom", _CONV),
]
_UPCONV7 = [(f"body.{2 * i}", _CONV) for i in range(6)] + [("body.12", _DECONV)]


def _by_position(
    weighted: list[WeightedLayer], keys: list[tuple[str, str]], what: str
) -> dict[str, torch.Tensor]:
    if len(weighted) != len(keys):
        raise NcnnFormatError(f"{what}: {len(weighted)} weighted layers, expected {len(keys)}")
    state = {}
    for item, (key, layer_type) in zip(weighted, keys, strict=True):
        if item.layer.type != layer_type:
            raise NcnnFormatError(
                f"{what}: layer {item.layer.name} is a {item.layer.type}, expected {layer_type}"
            )
        state[f"{key}.weight"] = item.weight
        if item.bias is not None:
            state[f"{key}.bias"] = item.bias
    return state


def realcugan_state(layers: list[NcnnLayer], weighted: list[WeightedLayer]) -> dict[str, torch.Tensor]:
    """Real-CUGAN (se or pro, 2x/3x/4x) in spandrel's ``UpCunet`` key layout.

    The 4x graph ends in ``conv_final`` and a pixel shuffle and outputs a residual: realcugan-ncnn-vulkan
    adds the nearest-upscaled input afterwards, spandrel's ``UpCunet4x`` inside its forward.
    """
    four_x = any(layer.type == "PixelShuffle" for layer in layers)
    keys = _unet1(_DECONV) + _UNET2 + ([("conv_final", _CONV)] if four_x else [])
    return _by_position(weighted, keys, "Real-CUGAN")


def waifu2x_cunet_state(layers: list[NcnnLayer], weighted: list[WeightedLayer]) -> dict[str, torch.Tensor]:
    """waifu2x cunet in ``Waifu2xCUNet``'s layout; the 2x graph has a fourth deconvolution (its upsampler)."""
    upsample = sum(layer.type == _DECONV for layer in layers) == 4
    state = _by_position(weighted, _unet1(_DECONV if upsample else _CONV) + _UNET2, "waifu2x cunet")
    return {**state, CUNET_MARKER: torch.zeros(1)}


def waifu2x_upconv7_state(weighted: list[WeightedLayer]) -> dict[str, torch.Tensor]:
    """waifu2x upconv_7 (photo, anime) in ``Waifu2xUpConv7``'s layout: a plain chain of seven layers."""
    return {**_by_position(weighted, _UPCONV7, "waifu2x upconv_7"), UPCONV7_MARKER: torch.zeros(1)}
