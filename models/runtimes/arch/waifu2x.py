"""waifu2x's two networks in PyTorch, as waifu2x-ncnn-vulkan runs them, and their spandrel architectures.

- ``cunet`` (nagadomi/waifu2x ``models/cunet``): two U-Nets with squeeze-excitation, the second refining the
  first's output; a 2x and a 1x (denoise only) form. Real-CUGAN grew out of it: the 2x form has the same
  layers as Real-CUGAN's ``UpCunet2x``. The difference is the border: waifu2x-ncnn-vulkan pre-pads by
  repeating edge pixels (18 px at 2x, 28 at 1x, then up to a multiple of 2 or 4), Real-CUGAN by reflection.
- ``upconv_7`` (the ``photo`` and ``anime_style_art_rgb`` models): six 3x3 convolutions and a stride-2
  transposed convolution, on an input pre-padded by 7 repeated edge pixels.

The convolutions are unpadded and crop their own borders, so each module pre-pads as the ncnn tool does and
returns exactly scale x the input size. The converted state dicts (``models/convert/ncnn_unet.py``) carry a
marker key (``waifu2x_cunet`` or ``waifu2x_upconv7``), as spandrel's Real-CUGAN carries ``pro``, so detection
never confuses a waifu2x cunet with a Real-CUGAN net of the same layers.
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from spandrel import Architecture, ImageModelDescriptor, SizeRequirements, StateDict
from spandrel.util import KeyCondition
from torch import nn

CUNET_MARKER = "waifu2x_cunet"
UPCONV7_MARKER = "waifu2x_upconv7"
# waifu2x-ncnn-vulkan's pre-padding and tile multiple per cunet scale: the two stride-2 stages need even
# sizes inside, which at 1x (no upsampling between the U-Nets) means a multiple of 4 outside.
_CUNET_PREPAD = {1: 28, 2: 18}
_CUNET_MULTIPLE = {1: 4, 2: 2}
_UPCONV7_PREPAD = 7


def _leaky(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.1, inplace=True)


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[:, :, border:-border, border:-border]


class _SEBlock(nn.Module):
    """Squeeze-excitation over the whole map (the mean is taken in fp32, so fp16 cannot overflow).

    `forward_mean` takes the channel means from outside, as spandrel's Real-CUGAN ``SEBlock`` does:
    ``models/runtimes/se_sync.py`` shares one set of means across all tiles of an image.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels // 8, 1)
        self.conv2 = nn.Conv2d(channels // 8, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_mean(x, x.float().mean(dim=(2, 3), keepdim=True).to(x.dtype))

    def forward_mean(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """Scale the channels of `x` as if its channel means (N x C x 1 x 1) were `mean`."""
        return x * torch.sigmoid(self.conv2(F.relu(self.conv1(mean))))


class _UNetConv(nn.Module):
    """Two unpadded 3x3 convolutions with LeakyReLU(0.1), optionally followed by squeeze-excitation."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int, se: bool) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, mid_ch, 3),
            nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(mid_ch, out_ch, 3),
            nn.LeakyReLU(0.1, inplace=True),
        )
        self.seblock = _SEBlock(out_ch) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x if self.seblock is None else self.seblock(x)


class _UNet1(nn.Module):
    """The first, shallow U-Net; at 2x its last layer is the upsampling transposed convolution."""

    def __init__(self, upsample: bool) -> None:
        super().__init__()
        self.conv1 = _UNetConv(3, 32, 64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2)
        self.conv2 = _UNetConv(64, 128, 64, se=True)
        self.conv2_up = nn.ConvTranspose2d(64, 64, 2, 2)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.conv_bottom: nn.Module = nn.ConvTranspose2d(64, 3, 4, 2, 3) if upsample else nn.Conv2d(64, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = _leaky(self.conv2_up(self.conv2(_leaky(self.conv1_down(x1)))))
        out: torch.Tensor = self.conv_bottom(_leaky(self.conv3(_crop(x1, 4) + x2)))
        return out


class _UNet2(nn.Module):
    """The second, deeper U-Net, which predicts a correction to the first one's output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _UNetConv(3, 32, 64, se=False)
        self.conv1_down = nn.Conv2d(64, 64, 2, 2)
        self.conv2 = _UNetConv(64, 64, 128, se=True)
        self.conv2_down = nn.Conv2d(128, 128, 2, 2)
        self.conv3 = _UNetConv(128, 256, 128, se=True)
        self.conv3_up = nn.ConvTranspose2d(128, 128, 2, 2)
        self.conv4 = _UNetConv(128, 64, 64, se=True)
        self.conv4_up = nn.ConvTranspose2d(64, 64, 2, 2)
        self.conv5 = nn.Conv2d(64, 64, 3)
        self.conv_bottom = nn.Conv2d(64, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = self.conv2(_leaky(self.conv1_down(x1)))
        x3 = _leaky(self.conv3_up(self.conv3(_leaky(self.conv2_down(x2)))))
        x4 = _leaky(self.conv4_up(self.conv4(_crop(x2, 4) + x3)))
        out: torch.Tensor = self.conv_bottom(_leaky(self.conv5(_crop(x1, 16) + x4)))
        return out


class Waifu2xCUNet(nn.Module):
    """waifu2x cunet at 1x (denoise only) or 2x: RGB in [0, 1], N x 3 x H x W to N x 3 x sH x sW."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        if scale not in _CUNET_PREPAD:
            raise ValueError(f"waifu2x cunet exists at 1x and 2x, not {scale}x")
        self.scale = scale
        self.register_buffer(CUNET_MARKER, torch.zeros(1))
        self.unet1 = _UNet1(upsample=scale == 2)
        self.unet2 = _UNet2()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        pad, multiple = _CUNET_PREPAD[self.scale], _CUNET_MULTIPLE[self.scale]
        x = F.pad(x, (pad, pad + -width % multiple, pad, pad + -height % multiple), mode="replicate")
        first = self.unet1(x)
        out: torch.Tensor = self.unet2(first) + _crop(first, 20)
        return out[:, :, : height * self.scale, : width * self.scale]


class Waifu2xUpConv7(nn.Module):
    """waifu2x upconv_7 (photo, anime_style_art_rgb), 2x: RGB in [0, 1], N x 3 x H x W to N x 3 x 2H x 2W."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(UPCONV7_MARKER, torch.zeros(1))
        widths = (3, 16, 32, 64, 128, 128, 256)
        layers: list[nn.Module] = []
        for in_ch, out_ch in pairwise(widths):
            layers += [nn.Conv2d(in_ch, out_ch, 3), nn.LeakyReLU(0.1, inplace=True)]
        self.body = nn.Sequential(*layers, nn.ConvTranspose2d(256, 3, 4, 2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(F.pad(x, (_UPCONV7_PREPAD,) * 4, mode="replicate"))
        return out


# spandrel ships no type information, so mypy sees its base class as Any.
class CUNetArch(Architecture[Waifu2xCUNet]):  # type: ignore[misc]
    """spandrel support for `Waifu2xCUNet` state dicts (recognised by their marker key)."""

    def __init__(self) -> None:
        super().__init__(
            id="Waifu2xCUNet",
            name="waifu2x cunet",
            detect=KeyCondition.has_all(CUNET_MARKER, "unet1.conv_bottom.weight", "unet2.conv_bottom.weight"),
        )

    def load(self, state_dict: StateDict) -> ImageModelDescriptor[Waifu2xCUNet]:
        # The 2x first U-Net ends in a 4x4 transposed convolution, the 1x one in a 3x3 convolution.
        scale = 2 if state_dict["unet1.conv_bottom.weight"].shape[2] == 4 else 1
        model = Waifu2xCUNet(scale)
        return ImageModelDescriptor(
            model,
            state_dict,
            architecture=self,
            purpose="SR" if scale > 1 else "Restoration",
            tags=[],
            supports_half=True,
            supports_bfloat16=True,
            scale=scale,
            input_channels=3,
            output_channels=3,
            # The module pads any size itself (edge pixels repeated): no requirement left for callers.
            size_requirements=SizeRequirements(),
        )


class UpConv7Arch(Architecture[Waifu2xUpConv7]):  # type: ignore[misc]
    """spandrel support for `Waifu2xUpConv7` state dicts (recognised by their marker key)."""

    def __init__(self) -> None:
        super().__init__(
            id="Waifu2xUpConv7",
            name="waifu2x upconv_7",
            detect=KeyCondition.has_all(UPCONV7_MARKER, "body.0.weight", "body.12.weight"),
        )

    def load(self, state_dict: StateDict) -> ImageModelDescriptor[Waifu2xUpConv7]:
        return ImageModelDescriptor(
            Waifu2xUpConv7(),
            state_dict,
            architecture=self,
            purpose="SR",
            tags=[],
            supports_half=True,
            supports_bfloat16=True,
            scale=2,
            input_channels=3,
            output_channels=3,
            size_requirements=SizeRequirements(),
        )
