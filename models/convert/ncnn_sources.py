"""Where the official ncnn files are: torch-free, so `models install` can check an unchanged install without
loading torch or the converter."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from models.spec import WeightVariant


def ncnn_package_dir(package: str) -> Path:
    """Locate the ``models`` folder of an installed ``sr_vulkan_model_*`` package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package.replace('_', '-')} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def ncnn_files(variant: WeightVariant) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` a weight variant is converted from."""
    stem = ncnn_package_dir(variant.package) / variant.stem
    return stem.with_suffix(".param"), stem.with_suffix(".bin")
