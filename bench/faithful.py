"""The faithful model against bicubic, SRCNN and the creative models, on held-out photos.

    python bench/faithful.py [--models-dir var/models] [--no-photos] [--candidate NAME=PATH ...]
    python bench/faithful.py [--candidate NAME=PATH ...] sheet [--out docs/contact-sheet-faithful.png]
    python bench/faithful.py [--candidate NAME=PATH ...] text [--out docs/faithful-text.png]
    python bench/faithful.py [--candidate NAME=PATH ...] throughput [--size 256] [--repeat 3]

Without a command: luma PSNR / SSIM (border = scale) of every method at x2, x3, x4 and x8 on the whole
held-out images of training/faithful_data.py (SRCNN's 4 validation images and 2 photos from Debian's
mate-backgrounds that no model here trained on; `--no-photos`, or a machine without the package, leaves
the 2 photos out), each downscaled with bicubic by the scale and brought back by the method. For contrast,
waifu2x-photo at x2 and realesrgan-x4plus at x4 (GAN-trained, so they pay in PSNR for invented texture).
`sheet` draws x4 crops through each method beside the truth; `text` draws the held-out page at x2, x3
and x4 through faithful and each candidate (whether letters come back right or are invented);
`throughput` times the faithful model's input megapixels per second through its tiled upscaler (SRCNN's
beside it), for pricing. A `--candidate`
is a weight file that `python -m training.train_faithful --out PATH` wrote, run beside the committed one
through the same upscaler (its name heads its row or column): how a new training is judged before it
replaces models/weights/faithful.safetensors.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from skimage.metrics import structural_similarity

from models.engine import upscale
from models.imaging.bands import assemble
from models.imaging.resample import Filter, resize
from models.install import install_official_weights
from models.runtimes.faithful import load_faithful
from models.runtimes.faithful_upscaler import FaithfulUpscaler, load
from models.zoo import builtin
from training.faithful_data import PhotosMissing, degrade, held_out_images, luma
from training.metrics import psnr

Method = Callable[[np.ndarray, int], np.ndarray]
SCALES = (2, 3, 4, 8)
# Contrast models, and the scale each is shown at (its native one).
CONTRAST = {"waifu2x-photo": 2, "realesrgan-x4plus": 4}


def _ignore(_fraction: float) -> None:
    return None


def methods(models_dir: Path, candidates: dict[str, Path] | None = None) -> dict[str, Method]:
    """Each method as (low-resolution RGB, scale) -> RGB at scale x the size; candidates after faithful."""

    def engine(model_id: str) -> Method:
        return lambda low, scale: upscale(low, builtin(model_id), scale, models_dir, _ignore)

    def tiled(upscaler: FaithfulUpscaler) -> Method:
        return lambda low, scale: assemble(upscaler.bands(low, scale, _ignore), low.shape[0] * scale)

    def classical(low: np.ndarray, scale: int) -> np.ndarray:
        return resize(low, low.shape[1] * scale, low.shape[0] * scale, Filter.BICUBIC)

    return {
        "bicubic": classical,
        "srcnn": engine("srcnn"),
        "faithful": tiled(load()),
        **{name: tiled(FaithfulUpscaler(load_faithful(path))) for name, path in (candidates or {}).items()},
        **{model_id: engine(model_id) for model_id in CONTRAST},
    }


def score(estimate: np.ndarray, truth: np.ndarray, border: int) -> tuple[float, float]:
    """Luma PSNR (dB) and SSIM with `border` pixels cropped on every side."""
    y_est, y_true = luma(np.clip(estimate, 0.0, 1.0)), luma(truth)
    inner = (slice(border, -border), slice(border, -border))
    ssim = structural_similarity(y_est[inner], y_true[inner], data_range=1.0)  # type: ignore[no-untyped-call]
    return psnr(y_est, y_true, border), float(ssim)


def _images(photos: bool) -> dict[str, np.ndarray]:
    try:
        return held_out_images(photos=photos)
    except PhotosMissing as missing:
        print(f"({missing}; benching without the 2 held-out photos)")
        return held_out_images(photos=False)


def quality(models_dir: Path, photos: bool, candidates: dict[str, Path]) -> None:
    """Print PSNR / SSIM per method, scale and image, and the gain over bicubic per scale."""
    images = _images(photos)
    runs = methods(models_dir, candidates)
    print("Luma PSNR dB / SSIM, border = scale, whole held-out images; gain = mean PSNR gain over bicubic")
    print(f"{'method':18} {'x':>2} " + " ".join(f"{name:>16}" for name in images) + "     gain")
    for scale in SCALES:
        base: list[float] = []
        for name, method in runs.items():
            if name in CONTRAST and CONTRAST[name] != scale:
                continue
            cells, psnrs = [], []
            for truth in images.values():
                truth, low = degrade(truth, scale)
                value, ssim = score(method(low, scale), truth, scale)
                cells.append(f"{value:>8.2f} / {ssim:.3f}")
                psnrs.append(value)
            base = base or psnrs
            gain = float(np.mean(np.subtract(psnrs, base)))
            print(f"{name:18} {scale:>2} " + " ".join(cells) + f"  {gain:+7.2f}", flush=True)


# x4 crops for the sheet: (image, top, left) of a 96x96 truth window, picked for faces, text and texture.
SHEET_CROPS = (("astronaut", 40, 180), ("page", 40, 100), ("coffee", 220, 300), ("Dune", 200, 380))
SHEET_ZOOM = 2
LABEL = 18  # pixels of caption under each row and of titles above the first


def _blank_sheet(
    columns: list[str], width: int, height: int, rows: int
) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A white sheet of `rows` rows of cells, each with a caption line under it, and the column titles."""
    canvas = Image.new("RGB", (width * len(columns), (height + LABEL) * rows + LABEL), "white")
    draw = ImageDraw.Draw(canvas)
    for col, title in enumerate(columns):
        draw.text((col * width + 4, 3), title, fill="black")
    return canvas, draw


def _save(canvas: Image.Image, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out, optimize=True)
    print(f"wrote {out}")


def sheet(
    models_dir: Path, out: Path, photos: bool = True, candidates: dict[str, Path] | None = None
) -> None:
    """Draw each crop's x4 input (enlarged), bicubic, SRCNN, faithful (and candidates), realesrgan-x4plus
    and the truth."""
    images = _images(photos)
    runs = methods(models_dir, candidates)
    columns = ["input", "bicubic", "srcnn", "faithful", *(candidates or {}), "realesrgan-x4plus", "truth"]
    side = 96 * SHEET_ZOOM
    crops = [crop for crop in SHEET_CROPS if crop[0] in images]
    canvas, draw = _blank_sheet(columns, side, side, len(crops))
    for row, (name, top, left) in enumerate(crops):
        # The window plus a margin of context, so no method sees the crop's edge as the image's.
        window = images[name][max(0, top - 32) : top + 128, max(0, left - 32) : left + 128]
        truth, low = degrade(window, 4)
        outputs = {
            "input": resize(low, truth.shape[1], truth.shape[0], Filter.NEAREST),
            "truth": truth,
            **{column: runs[column](low, 4) for column in columns[1:-1]},
        }
        y0, x0 = top - max(0, top - 32), left - max(0, left - 32)
        y = LABEL + row * (side + LABEL)
        for col, column in enumerate(columns):
            tile = np.clip(outputs[column][y0 : y0 + 96, x0 : x0 + 96], 0.0, 1.0)
            picture = Image.fromarray(np.rint(tile * 255).astype(np.uint8)).resize(
                (side, side), Image.Resampling.NEAREST
            )
            canvas.paste(picture, (col * side, y))
            if column not in ("input", "truth"):
                value, _ = score(outputs[column], truth, 4)
                draw.text((col * side + 4, y + side + 2), f"{name} {value:.2f} dB", fill="black")
            elif column == "input":
                draw.text((col * side + 4, y + side + 2), f"{name} (x4 input)", fill="black")
    _save(canvas, out)


TEXT_CROP = (40, 100, 96, 200)  # the page's truth window: top, left, height, width


def text_sheet(models_dir: Path, out: Path, candidates: dict[str, Path]) -> None:
    """The page's words at x2, x3 and x4: the input (enlarged), faithful, each candidate, the truth."""
    page = held_out_images(photos=False)["page"]
    runs = methods(models_dir, candidates)
    columns = ["input", "faithful", *candidates, "truth"]
    top, left, height, width = TEXT_CROP
    canvas, draw = _blank_sheet(columns, width, height, 3)
    for row, scale in enumerate((2, 3, 4)):
        truth, low = degrade(page, scale)
        outputs = {
            "input": resize(low, truth.shape[1], truth.shape[0], Filter.NEAREST),
            "truth": truth,
            **{column: runs[column](low, scale) for column in columns[1:-1]},
        }
        y = LABEL + row * (height + LABEL)
        for col, column in enumerate(columns):
            tile = np.clip(outputs[column][top : top + height, left : left + width], 0.0, 1.0)
            canvas.paste(Image.fromarray(np.rint(tile * 255).astype(np.uint8)), (col * width, y))
            caption = f"x{scale} input" if column == "input" else ""
            if column not in ("input", "truth"):
                caption = f"x{scale} {score(outputs[column], truth, scale)[0]:.2f} dB"
            draw.text((col * width + 4, y + height + 2), caption, fill="black")
    _save(
        canvas.resize((canvas.width * SHEET_ZOOM, canvas.height * SHEET_ZOOM), Image.Resampling.NEAREST), out
    )


def throughput(models_dir: Path, size: int, repeat: int, candidates: dict[str, Path]) -> None:
    """Input MP/s of the faithful upscaler (candidates, and SRCNN for scale) per scale, best of `repeat`."""
    runs = methods(models_dir, candidates)
    image = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
    print(f"{torch.get_num_threads()} threads, input {size}x{size}, best of {repeat}")
    for name in ("faithful", *candidates, "srcnn"):
        for scale in SCALES:
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                runs[name](image, scale)
                best = min(best, time.perf_counter() - started)
            rate = size * size / 1e6 / best
            print(f"{name:14} x{scale}: {rate:.3f} in MP/s  {rate * scale**2:.3f} out MP/s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--no-photos", action="store_true", help="only SRCNN's 4 validation images")
    parser.add_argument(
        "--candidate",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a trained weight file to run beside the committed one (repeatable)",
    )
    commands = parser.add_subparsers(dest="command")
    drawn = commands.add_parser("sheet", help="x4 crops through each method, beside the truth")
    drawn.add_argument("--out", type=Path, default=Path("docs/contact-sheet-faithful.png"))
    text = commands.add_parser("text", help="the page's words at x2, x3 and x4, beside the truth")
    text.add_argument("--out", type=Path, default=Path("docs/faithful-text.png"))
    timed = commands.add_parser("throughput", help="input megapixels per second")
    timed.add_argument("--size", type=int, default=256)
    timed.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    candidates = {}
    for given in args.candidate:
        name, separator, path = given.partition("=")
        if not separator or not name or not Path(path).is_file():
            parser.error(f"--candidate {given!r}: expected NAME=PATH of a weight file")
        candidates[name] = Path(path)
    install_official_weights(args.models_dir)
    if args.command == "throughput":
        throughput(args.models_dir, args.size, args.repeat, candidates)
    elif args.command == "text":
        text_sheet(args.models_dir, args.out, candidates)
    elif args.command == "sheet":
        sheet(args.models_dir, args.out, not args.no_photos, candidates)
    else:
        quality(args.models_dir, not args.no_photos, candidates)


if __name__ == "__main__":
    main()
