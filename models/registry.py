"""The model registry: stable model ids mapped to what the engine knows of each model and how to load it.

Pure inference: a registry says what a model is (content, native scale, weights) and loads it; what it
costs and where it runs are the service's business (app/catalog). Nothing registers itself on import:
`load_registry` builds one explicitly from the built-ins and the operator's manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from models.bands import Band

Content = Literal["photo", "anime", "text", "general"]
SCALES: tuple[int, ...] = (2, 3, 4, 8)
ProgressFn = Callable[[float], None]


class Upscaler(Protocol):
    """A loaded model: turns an HxWx3 float32 RGB image in [0, 1] into exactly (H*scale) x (W*scale) x 3.

    The output comes as row bands, top to bottom (models.bands), so a huge output is never whole in float.
    """

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]: ...


@dataclass(frozen=True)
class ModelSpec:
    """One model as the engine knows it: what it is for, its native scale, its weights and its loader."""

    id: str
    name: str
    content: Content
    native_scale: int
    load: Callable[[Path], Upscaler] = field(repr=False, compare=False)
    description: str = ""
    scales: tuple[int, ...] = SCALES
    weights: str | None = None  # the weight file in the models folder, if the model needs one
    described: bool = True  # False: an operator file not yet described by `mindrender models install`

    def installed(self, models_dir: Path) -> bool:
        """Whether this model can run: its weights are in place (and, for an operator model, described)."""
        return self.described and (self.weights is None or (models_dir / self.weights).is_file())


class UnknownModel(LookupError):
    """No model with that id is registered."""


class DuplicateModel(ValueError):
    """Two models with one id: an operator's manifest may not reuse a built-in id (or its own)."""


class WeightsMissing(RuntimeError):
    """A model's weight file is not in the models folder (`mindrender models install` puts it there)."""


class ModelRegistry:
    """Model ids to specs, in registration order."""

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.id in self._specs:
            raise DuplicateModel(f"model id {spec.id!r} is registered twice")
        self._specs[spec.id] = spec
        return spec

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            raise UnknownModel(model_id) from None

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(list(self._specs.values()))


def load_registry(models_dir: Path) -> ModelRegistry:
    """The built-in models, then the operator's manifest models (an id clash fails here, at start-up)."""
    from models.builtin import builtin_models
    from models.manifest import manifest_models

    registry = ModelRegistry(builtin_models())
    for spec in manifest_models(models_dir):
        registry.register(spec)
    return registry
