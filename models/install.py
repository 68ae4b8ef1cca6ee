"""`mindrender models install`: put every model's weights in place and prove each one loads."""

from __future__ import annotations

from pathlib import Path

from models.engine import load_upscaler
from models.registry import all_models


def install_models(models_dir: Path) -> int:
    """Create the models folder and load each registered model once; returns a process exit code."""
    models_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for spec in all_models():
        try:
            load_upscaler(spec.id, models_dir)
            print(f"  ok  {spec.id}")
        except Exception as exc:
            failures += 1
            print(f"  FAILED  {spec.id}: {exc}")
    return 1 if failures else 0
