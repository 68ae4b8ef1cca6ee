"""Host memory of one job: peak resident memory of decode, upscale and encode, per output pixel.

    python bench/memory.py [--cases bicubic:2500:4:RGBA,realesr-animevideov3:1024:3:RGBA] [--neural-heap]

Each case runs in a fresh process, as the worker does it (app.jobs.processing): decode the uploaded PNG,
`upscale_to_integers`, encode the result. It prints the peak resident set above what the process held once
the model was loaded (Linux: VmHWM after clear_refs), beside the size of the 8-bit output and of the file.
The floor is the output itself plus the encoded file; the rest is what the pipeline adds. A neural model
on CPU switches the process heap to keeping freed blocks (models/engine.py, `reuse_freed_memory`);
`--neural-heap` runs every case under that policy, as in a worker that has already served a neural job.
The neural cases at 1024 pixels already run windows as large as their budget allows; a wider image adds a
wider row of windows' output, held in float at the native scale (the 2500-pixel case).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_CASES = (
    "bicubic:2500:4:RGBA,lanczos:3000:3:RGB,srcnn:1000:4:RGB,"
    "realesr-animevideov3:1024:3:RGBA,realesr-animevideov3:1024:8:RGBA,realesr-animevideov3:2500:4:RGB,"
    "realesrgan-x4plus-anime:1024:4:RGB,realcugan-se:1024:2:RGB,waifu2x-cunet:1024:2:RGB"
)


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> float:
    """Forget the peak so far (Linux: clear_refs 5) and return the resident MiB now."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")


def run_case(case: str, models_dir: Path, neural_heap: bool) -> str:
    """One job in this process; returns its report line."""
    from app.media.image_codec import DecodedImage, decode_image, encode_image
    from models.engine import reuse_freed_memory, upscale, upscale_to_integers
    from models.zoo import builtin

    if neural_heap:
        reuse_freed_memory()

    model_id, side_text, scale_text, mode = case.split(":")
    side, scale = int(side_text), int(scale_text)
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, len(mode)), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode=mode).save(buffer, format="PNG", compress_level=1)
    data = buffer.getvalue()
    del pixels, buffer
    spec = builtin(model_id)
    upscale(np.zeros((8, 8, 3), np.float32), spec, scale, models_dir, lambda _: None)  # loads the weights
    base = _reset_peak()
    start = time.perf_counter()
    image = decode_image(data)
    out = upscale_to_integers(image.pixels, spec, scale, models_dir, lambda _: None, image.bit_depth)
    image = DecodedImage(pixels=out, bit_depth=image.bit_depth, icc_profile=None, exif=None)
    del out
    encoded = encode_image(image, "png")
    seconds = time.perf_counter() - start
    peak = _status_mib("VmHWM") - base
    output_pixels = side * side * scale * scale
    output_mib = output_pixels * len(mode) / 2**20
    return (
        f"{model_id:23} {side:>5}x{side:<5} {mode:5} x{scale}  {output_pixels / 1e6:6.1f} MP"
        f" {output_mib:7.0f} MiB {len(encoded) / 2**20:7.0f} MiB {peak:9.0f} MiB {peak - output_mib:9.0f} MiB"
        f" {seconds:6.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", default=DEFAULT_CASES, help="model:side:scale:mode, comma-separated")
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--neural-heap", action="store_true", help="every case with a neural job's heap")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(run_case(args.one, args.models_dir, args.neural_heap), flush=True)
        return
    from models.install import install_official_weights

    install_official_weights(args.models_dir)
    print(
        "resident memory of one job (decode, upscale, encode as PNG) above the process with its model loaded"
        + ("; heap as after a neural job" if args.neural_heap else "")
    )
    print(
        f"{'model':23} {'input':11} {'mode':5} {'scale':>5} {'output':>9} {'8-bit':>11} {'file':>11}", end=""
    )
    print(f" {'peak':>13} {'peak-output':>13} {'time':>7}")
    for case in args.cases.split(","):
        command = [sys.executable, __file__, "--one", case, "--models-dir", str(args.models_dir)]
        command += ["--neural-heap"] if args.neural_heap else []
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
