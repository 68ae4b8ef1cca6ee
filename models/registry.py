"""The model registry: stable model ids mapped to what the engine knows of each model and how to load it.

Pure inference: a registry says what a model is (content, native scale, weights) and loads it; what it
costs and where it runs are the service's business (app/catalog). Nothing registers itself on import:
`load_registry` builds one explicitly from the zoo's built-ins and the operator's manifest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from models.manifest import manifest_models
from models.spec import DuplicateModel, ModelSpec, UnknownModel
from models.zoo import builtin_models

__all__ = ["DuplicateModel", "ModelRegistry", "UnknownModel", "load_registry"]


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
    registry = ModelRegistry(builtin_models())
    for spec in manifest_models(models_dir):
        registry.register(spec)
    return registry
