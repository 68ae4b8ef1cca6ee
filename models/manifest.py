"""Operator-added models: any spandrel-loadable file in MR_MODELS_DIR named in `manifest.json`.

[{"id": "4x-ultrasharp", "name": "4x UltraSharp", "file": "4x-UltraSharp.pth", "content": "photo",
  "credits": {"minimum": 2, "megapixels_per_credit": 2}}]

The engine reads what a model is (id, name, file, content, description); its native scale and size
requirements come from spandrel's descriptor of the file (recorded by `mindrender models install`, see
models/describe.py), not from the manifest. Prices (`credits`) and the queue are the service's and are read
by app/catalog.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from models.describe import read_descriptions
from models.spec import Content, ModelSpec

MANIFEST_NAME = "manifest.json"


class ManifestEntry(BaseModel):
    """What the engine reads of one operator model; validated so a typo fails at start-up."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    name: str
    file: str = Field(pattern=r"^[^/\\\\]+$")
    content: Content = "general"
    description: str = ""


def read_manifest(models_dir: Path) -> list[dict[str, object]]:
    """The manifest's raw entries (the service reads its own fields from them); [] without a manifest."""
    path = models_dir / MANIFEST_NAME
    if not path.is_file():
        return []
    entries = json.loads(path.read_text())
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{path} must hold a JSON list of objects")
    return entries


def manifest_models(models_dir: Path) -> list[ModelSpec]:
    """The operator's models; one not yet described (installed) is listed but not `installed()`."""
    descriptions = read_descriptions(models_dir)
    specs = []
    for entry in (ManifestEntry.model_validate(item) for item in read_manifest(models_dir)):
        described = descriptions.get(entry.file)
        specs.append(
            ModelSpec(
                id=entry.id,
                name=entry.name,
                content=entry.content,
                native_scale=described.native_scale if described else 0,
                description=entry.description,
                weights=entry.file,
                described=described is not None,
            )
        )
    return specs
