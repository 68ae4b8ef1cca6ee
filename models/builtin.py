"""The models that ship with the service: classical filters, SRCNN and the official Real-ESRGAN weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from models.classical import ClassicalUpscaler
from models.registry import ModelSpec, Upscaler, WeightsMissing
from models.resample import Filter

_CLASSICAL_NAMES = {
    Filter.NEAREST: ("Nearest neighbour", "Hard pixel edges: pixel art and screenshots."),
    Filter.BILINEAR: ("Bilinear", "Smooth, soft interpolation."),
    Filter.BICUBIC: ("Bicubic", "The standard smooth interpolation."),
    Filter.LANCZOS: ("Lanczos", "The sharpest classical filter."),
}
_REAL_ESRGAN = (
    (
        "realesrgan-x4plus",
        "Real-ESRGAN x4plus",
        "photo",
        "Photos: restores detail and removes JPEG artefacts.",
    ),
    ("realesrgan-x4plus-anime", "Real-ESRGAN x4plus anime", "anime", "Anime and illustrations: clean lines."),
    ("realesr-animevideov3", "Real-ESRGAN AnimeVideo v3", "anime", "Anime, fast (a compact network)."),
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


def weights_loader(file: str) -> Callable[[Path], Upscaler]:
    """Load a spandrel-loadable weight file from the models folder (WeightsMissing when absent)."""

    def load(models_dir: Path) -> Upscaler:
        from models.spandrel_upscaler import load_spandrel

        path = models_dir / file
        if not path.is_file():
            raise WeightsMissing(f"{path} is missing: run `mindrender models install`")
        return load_spandrel(path)

    return load


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
    for model_id, name, content, description in _REAL_ESRGAN:
        specs.append(
            ModelSpec(
                id=model_id,
                name=name,
                content=content,  # type: ignore[arg-type]
                native_scale=4,
                load=weights_loader(f"{model_id}.safetensors"),
                description=description + " Weights: Real-ESRGAN (BSD-3-Clause), see NOTICE.",
                weights=f"{model_id}.safetensors",
            )
        )
    return specs
