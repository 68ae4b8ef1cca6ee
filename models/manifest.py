"""Operator-added models: any spandrel-loadable file in MR_MODELS_DIR named in `manifest.json`.

[{"id": "4x-ultrasharp", "name": "4x UltraSharp", "file": "4x-UltraSharp.pth", "content": "photo",
  "native_scale": 4, "credits": {"minimum": 2, "megapixels_per_credit": 2}}]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from models.registry import Content, ModelSpec, Pricing, Upscaler, WeightsMissing, register, registered_ids

MANIFEST_NAME = "manifest.json"


class _PricingEntry(BaseModel):
    minimum: int = Field(default=2, ge=1)
    megapixels_per_credit: float = Field(default=2, gt=0)


class ManifestEntry(BaseModel):
    """One operator model; validated so a typo fails at start-up, not at the first job."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    name: str
    file: str
    content: Content = "general"
    native_scale: int = Field(default=4, ge=1, le=8)
    description: str = ""
    credits: _PricingEntry = _PricingEntry()


def _loader(file: str) -> Callable[[Path], Upscaler]:
    def load(models_dir: Path) -> Upscaler:
        from models.spandrel_upscaler import load_spandrel

        if not (models_dir / file).is_file():
            raise WeightsMissing(f"{models_dir / file} is missing (named in {MANIFEST_NAME})")
        return load_spandrel(models_dir / file)

    return load


def register_manifest(models_dir: Path) -> list[str]:
    """Register the manifest's models (once each); returns the ids added."""
    path = models_dir / MANIFEST_NAME
    if not path.is_file():
        return []
    entries = [ManifestEntry.model_validate(item) for item in json.loads(path.read_text())]
    added = []
    for entry in entries:
        if entry.id in registered_ids():
            continue
        register(
            ModelSpec(
                id=entry.id,
                name=entry.name,
                content=entry.content,
                native_scale=entry.native_scale,
                pricing=Pricing(entry.credits.minimum, entry.credits.megapixels_per_credit),
                queue="gpu",
                load=_loader(entry.file),
                description=entry.description,
                weights=entry.file,
            )
        )
        added.append(entry.id)
    return added
