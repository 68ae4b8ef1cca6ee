"""Architectures spandrel lacks, added to its registry so `spandrel.ModelLoader` loads our files too.

Call `register_architectures()` before loading (``models/runtimes/spandrel_upscaler.py`` does): then a
converted waifu2x file loads through the same "bring your own model" path as an ESRGAN ``.pth``.
"""

from __future__ import annotations

from spandrel import MAIN_REGISTRY, ArchSupport

from models.runtimes.arch.waifu2x import CUNetArch, UpConv7Arch, Waifu2xCUNet, Waifu2xUpConv7

__all__ = ["Waifu2xCUNet", "Waifu2xUpConv7", "register_architectures"]


def register_architectures() -> None:
    """Add the waifu2x architectures to spandrel's main registry; calling it again changes nothing.

    cunet is detected before RealCUGAN, whose detection (key names only) would also accept a waifu2x
    cunet state dict: the same layers, with another border treatment.
    """
    MAIN_REGISTRY.add(
        ArchSupport.from_architecture(CUNetArch(), before=("RealCUGAN",)),
        ArchSupport.from_architecture(UpConv7Arch()),
        ignore_duplicates=True,
    )
