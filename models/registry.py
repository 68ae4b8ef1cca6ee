"""The model registry: a stable model id maps to its metadata, price and loader; one entry per model."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from models.bands import Band

Content = Literal["photo", "anime", "text", "general"]
Queue = Literal["cpu", "gpu"]
SCALES: tuple[int, ...] = (2, 3, 4, 8)
ProgressFn = Callable[[float], None]


class Upscaler(Protocol):
    """A loaded model: turns an HxWx3 float32 RGB image in [0, 1] into exactly (H*scale) x (W*scale) x 3.

    The output comes as row bands, top to bottom (models.bands), so a huge output is never whole in float.
    """

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]: ...


@dataclass(frozen=True)
class Pricing:
    """Credits for one job: one credit per started `megapixels_per_credit` of output, at least `minimum`."""

    minimum: int
    megapixels_per_credit: float

    def credits_for(self, output_pixels: int) -> int:
        return max(self.minimum, math.ceil(output_pixels / (self.megapixels_per_credit * 1_000_000)))


@dataclass(frozen=True)
class ModelSpec:
    """Everything the API and workers need to know about one model."""

    id: str
    name: str
    content: Content
    native_scale: int
    pricing: Pricing
    queue: Queue
    load: Callable[[Path], Upscaler] = field(repr=False, compare=False)
    description: str = ""
    scales: tuple[int, ...] = SCALES
    weights: str | None = None  # the weight file in the models folder, if the model needs one

    def installed(self, models_dir: Path) -> bool:
        """Whether this model's weights are in place (a model without a weight file always is)."""
        return self.weights is None or (models_dir / self.weights).is_file()


class WeightsMissing(RuntimeError):
    """A model's weight file is not in the models folder (`mindrender models install` puts it there)."""


class UnknownModel(LookupError):
    """No model with that id is registered."""


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    if spec.id in _REGISTRY:
        raise ValueError(f"model id {spec.id!r} registered twice")
    _REGISTRY[spec.id] = spec
    return spec


def get_model(model_id: str) -> ModelSpec:
    _ensure_builtins()
    try:
        return _REGISTRY[model_id]
    except KeyError:
        raise UnknownModel(model_id) from None


def registered_ids() -> set[str]:
    _ensure_builtins()
    return set(_REGISTRY)


def all_models() -> list[ModelSpec]:
    _ensure_builtins()
    return list(_REGISTRY.values())


def _ensure_builtins() -> None:
    # Imported lazily so that importing the registry never imports torch.
    from models import builtin  # noqa: F401
