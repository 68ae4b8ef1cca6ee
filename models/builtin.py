"""The models that ship with the service."""

from __future__ import annotations

from pathlib import Path

from models.classical import ClassicalUpscaler
from models.registry import ModelSpec, Pricing, Upscaler, register
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
