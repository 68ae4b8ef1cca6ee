"""Engine throughput: input and output megapixels per second for each model, against ncnn on CPU.

    python bench/engine.py [--size 128] [--repeat 2] [--models realesr-animevideov3,...]

Prints one row per model and device. On CPU it also runs the ncnn runtime (PyPI `ncnn`) on the same
official .param/.bin at the same thread count and prints our/ncnn throughput. On CUDA it prints our figures
only: the comparison with the reference tile-400 fp16 loop is not written yet (no GPU was lent to measure it).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

from models.engine import load_upscaler, upscale
from models.install import install_official_weights
from models.ncnn_convert import OFFICIAL_WEIGHTS, realesrgan_ncnn_dir
from models.registry import all_models


def _ignore(_fraction: float) -> None:
    return None


def _time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _ncnn_seconds(model_id: str, image: np.ndarray, threads: int, repeat: int) -> float:
    import ncnn

    stem = realesrgan_ncnn_dir() / OFFICIAL_WEIGHTS[model_id]
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    net.load_param(str(stem.with_suffix(".param")))
    net.load_model(str(stem.with_suffix(".bin")))
    data = np.ascontiguousarray(image.transpose(2, 0, 1))

    def once() -> None:
        with net.create_extractor() as extractor:
            extractor.input("data", ncnn.Mat(data))
            _, out = extractor.extract("output")
            np.array(out)
            del out

    seconds = _time(once, repeat)
    net.clear()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=128, help="square input side in pixels")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--models", default=",".join(s.id for s in all_models()))
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    install_official_weights(args.models_dir)
    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {threads} threads"
    image = np.random.default_rng(0).random((args.size, args.size, 3), dtype=np.float32)
    in_mp = args.size * args.size / 1e6
    print(f"device: {device}; input {args.size}x{args.size}; torch {torch.__version__}")
    print(f"{'model':26} {'scale':>5} {'in MP/s':>9} {'out MP/s':>9} {'ncnn in MP/s':>13} {'ratio':>6}")
    for model_id in args.models.split(","):
        spec = next(s for s in all_models() if s.id == model_id)
        scale = max(spec.native_scale, 2)
        load_upscaler(model_id, args.models_dir)
        seconds = _time(partial(upscale, image, model_id, scale, args.models_dir, _ignore), args.repeat)
        ours = in_mp / seconds
        row = f"{model_id:26} {scale:>5} {ours:>9.3f} {ours * scale * scale:>9.3f}"
        if model_id in OFFICIAL_WEIGHTS and not torch.cuda.is_available():
            theirs = in_mp / _ncnn_seconds(model_id, image, threads, args.repeat)
            row += f" {theirs:>13.3f} {ours / theirs:>6.2f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
