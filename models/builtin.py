"""The models that ship with the service."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from models.classical import ClassicalUpscaler
from models.registry import ModelSpec, Pricing, Upscaler, WeightsMissing, register
from models.resample import Filter

_CLASSICAL = Pricing(minimum=1, megapixels_per_credit=16)
_CLASSICAL_NAMES = {
    Filter.NEAREST: ("Nearest neighbour", "Hard pixel edges: pixel art and screenshots."),
    Filter.BILINEAR: ("Bilinear", "Smooth, soft interpolation."),
    Filter.BICUBIC: ("Bicubic", "The standard smooth interpolation."),
    Filter.LANCZOS: ("Lanczos", "The sharpest classical filter."),
}


def _classical_loader(method: Filter) -> ModelSpec:
    def load(_models_dir: Path) -> Upscaler:
        return ClassicalUpscaler(method)

    name, description = _CLASSICAL_NAMES[method]
    return ModelSpec(
        id=method.value,
        name=name,
        content="general",
        native_scale=1,
        pricing=_CLASSICAL,
        queue="cpu",
        load=load,
        description=description,
    )


def _load_srcnn(models_dir: Path) -> Upscaler:
    from models.srcnn_upscaler import load

    return load(models_dir)


for _method in Filter:
    register(_classical_loader(_method))

register(
    ModelSpec(
        id="srcnn",
        name="SRCNN",
        content="general",
        native_scale=1,
        pricing=Pricing(minimum=1, megapixels_per_credit=4),
        queue="cpu",
        load=_load_srcnn,
        description="A small CNN that sharpens a bicubic upscale (Dong et al., 2014); trained in-house.",
    )
)


def _weights_loader(model_id: str) -> Callable[[Path], Upscaler]:
    def load(models_dir: Path) -> Upscaler:
        from models.spandrel_upscaler import load_spandrel

        path = models_dir / f"{model_id}.safetensors"
        if not path.is_file():
            raise WeightsMissing(f"{path} is missing: run `mindrender models install`")
        return load_spandrel(path)

    return load


_NEURAL = Pricing(minimum=2, megapixels_per_credit=2)
for _id, _name, _content, _description in (
    (
        "realesrgan-x4plus",
        "Real-ESRGAN x4plus",
        "photo",
        "Photos: restores detail and removes JPEG artefacts.",
    ),
    ("realesrgan-x4plus-anime", "Real-ESRGAN x4plus anime", "anime", "Anime and illustrations: clean lines."),
    ("realesr-animevideov3", "Real-ESRGAN AnimeVideo v3", "anime", "Anime, fast (a compact network)."),
):
    register(
        ModelSpec(
            id=_id,
            name=_name,
            content=_content,  # type: ignore[arg-type]
            native_scale=4,
            pricing=_NEURAL,
            queue="gpu",
            load=_weights_loader(_id),
            description=_description + " Weights: Real-ESRGAN (BSD-3-Clause), see NOTICE.",
            weights=f"{_id}.safetensors",
        )
    )
