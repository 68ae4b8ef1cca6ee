"""What each faster path costs in accuracy: its output against torch fp32's, in 8-bit levels, on photos.

    python -m bench.precision [--models realesrgan-x4plus,...] [--vulkan] [--models-dir var/models]

Inputs are the quality bench's held-out photos (bench/ground_truth.py: four 184 x 184 crops of
scikit-image's photographs), each upscaled at the model's native scale as a worker does (`upscale`,
clipped), once per path:
- `bf16`: torch with MR_CPU_PRECISION=bf16 (the CPU default where bf16 is native);
- `ncnn`: the ncnn backend on the CPU (fp32, the official .param/.bin);
- `vulkan` (with --vulkan): the ncnn backend on the first Vulkan device (fp16 where the device has it).
Per path: the mean absolute difference over all output pixels and channels, its 99.9th percentile, and the
largest, in levels of 255, pooled over the photos, and the PSNR against fp32.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from bench.ground_truth import samples
from models.devices import Engine, resolve
from models.engine import configure_engine, upscale
from models.install import install_official_weights
from models.zoo import builtin

_MODELS = "realesrgan-x4plus,realesrgan-x4plus-anime,realesr-animevideov3"


def _ignore(_fraction: float) -> None:
    return None


def _outputs(engine: Engine, model_id: str, photos: list[np.ndarray], models_dir: Path) -> list[np.ndarray]:
    configure_engine(engine)
    spec = builtin(model_id)
    return [upscale(photo, spec, spec.native_scale, models_dir, _ignore) for photo in photos]


def _row(reference: list[np.ndarray], other: list[np.ndarray]) -> str:
    levels = np.concatenate([np.abs(a - b).ravel() for a, b in zip(reference, other, strict=True)]) * 255
    mse = float(np.mean((levels / 255) ** 2))
    psnr = 10 * np.log10(1 / mse) if mse else float("inf")
    return f"{levels.mean():>6.3f} {np.percentile(levels, 99.9):>7.2f} {levels.max():>6.2f} {psnr:>6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default=_MODELS)
    parser.add_argument("--vulkan", action="store_true", help="also the ncnn backend on Vulkan")
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    install_official_weights(args.models_dir)
    photos = [s.rgb for s in samples() if s.content == "photo"]
    paths = {"bf16": resolve("cpu", "torch", "bf16"), "ncnn": resolve("cpu", "ncnn", "fp32")}
    if args.vulkan:
        paths["vulkan"] = resolve("vulkan")
    print(f"{len(photos)} photos ({', '.join(s.name for s in samples() if s.content == 'photo')})")
    print(f"against torch fp32 on the CPU; levels of 255; torch {torch.__version__}")
    print(f"{'model':25} {'path':7} {'mean':>6} {'p99.9':>7} {'max':>6} {'PSNR':>6}")
    for model_id in filter(None, args.models.split(",")):
        reference = _outputs(resolve("cpu", "torch", "fp32"), model_id, photos, args.models_dir)
        for name, engine in paths.items():
            other = _outputs(engine, model_id, photos, args.models_dir)
            print(f"{model_id:25} {name:7} {_row(reference, other)}", flush=True)


if __name__ == "__main__":
    main()
