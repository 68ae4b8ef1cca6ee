"""Model quality: Y-channel PSNR/SSIM (border = scale) of every model against the ground truth.

    python bench/quality.py [--crop 168] [--models-dir var/models]
    python bench/quality.py degradations [--out var/bench/degradations] [--scales 2,4,1] [--tables-only]
    python bench/quality.py contact-sheet [--out docs/contact-sheet-x2.png] [--degradation jpeg50] [--scale 2]

Without a command: ground truth is held-out images bundled with scikit-image (never used to train SRCNN)
and rendered text; the low-resolution input is the bicubic downscale. Also compares two ways to reach 8x
with a 4x model: one pass + Lanczos 2x (what the engine does), or two passes with the first result brought
to 2x in between. `degradations` scores every model and option on JPEG-compressed and noisy inputs of
photos, illustrations and text (bench/degradations.py) and prints the preset choice; `contact-sheet` draws
one crop of each through every model, for looking rather than reading.
Real-ESRGAN is trained for perceptual quality on blind degradations, so PSNR/SSIM under-rate it here;
the figures still rank models per content type on the same footing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if not __package__:
    # Run as a file (python bench/quality.py, as older notes say): make the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image, ImageDraw
from skimage.metrics import structural_similarity

from bench.contact_sheet import draw_contact_sheet
from bench.degradation_tables import print_all
from bench.degradations import Score, log_to_stderr, run, scores_as_json
from bench.ground_truth import rendered_text, samples
from models.engine import upscale
from models.imaging.resample import Filter, resize
from models.install import install_official_weights
from models.runtimes.srcnn import rgb_to_ycbcr
from models.zoo import builtin, builtin_models
from training.datasets import VALIDATION_IMAGES, load_rgb
from training.metrics import psnr


def _images(crop: int) -> dict[str, np.ndarray]:
    images = {}
    for name, loader in VALIDATION_IMAGES.items():
        rgb = load_rgb(loader)
        top, left = (rgb.shape[0] - crop) // 2, (rgb.shape[1] - crop) // 2
        images[name] = rgb[top : top + crop, left : left + crop]
    images["rendered-text"] = rendered_text(crop)
    return images


def _score(estimate: np.ndarray, truth: np.ndarray, border: int) -> tuple[float, float]:
    y_est, y_true = rgb_to_ycbcr(estimate)[:, :, 0], rgb_to_ycbcr(truth)[:, :, 0]
    inner = (slice(border, -border), slice(border, -border))
    ssim = structural_similarity(y_est[inner], y_true[inner], data_range=1.0)  # type: ignore[no-untyped-call]
    return psnr(y_est, y_true, border), float(ssim)


def _ignore(_fraction: float) -> None:
    return None


def _alpha_masks(crop: int) -> dict[str, np.ndarray]:
    """Alpha channels as cut-outs have them: a soft-edged shape, anti-aliased text, a smooth vignette."""
    shape = Image.new("L", (crop * 4, crop * 4), 0)
    ImageDraw.Draw(shape).ellipse((crop // 2, crop // 3, crop * 3, crop * 3), fill=255)
    soft = np.asarray(shape.resize((crop, crop), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    text = 1.0 - rendered_text(crop)[:, :, 0]
    yy, xx = np.mgrid[0:crop, 0:crop] / crop
    vignette = np.clip(1.2 - 1.6 * np.hypot(yy - 0.5, xx - 0.5), 0, 1).astype(np.float32)
    return {"soft-shape": soft, "text-mask": text, "vignette": vignette}


def _alpha_comparison(crop: int, models_dir: Path) -> None:
    """Alpha upscaled by bicubic (what the engine does) or by a model fed the mask as gray."""
    print("\nAlpha at 4x: PSNR dB of bicubic vs each 4x model run on the mask as a gray image")
    masks = _alpha_masks(crop)
    rows: dict[str, list[float]] = {"bicubic": []}
    rows |= {s.id: [] for s in builtin_models() if s.native_scale == 4}
    for mask in masks.values():
        low = resize(mask[:, :, None], crop // 4, crop // 4, Filter.BICUBIC)
        for name in rows:
            if name == "bicubic":
                out = resize(low, crop, crop, Filter.BICUBIC)[:, :, 0]
            else:
                out = upscale(np.repeat(low, 3, axis=2), builtin(name), 4, models_dir, _ignore).mean(axis=2)
            rows[name].append(psnr(np.clip(out, 0, 1), mask, 4))
    print(f"{'method':26} " + " ".join(f"{m:>11}" for m in masks))
    for name, scores in rows.items():
        print(f"{name:26} " + " ".join(f"{score:>11.2f}" for score in scores))


def _clean_bench(crop: int, models_dir: Path) -> None:
    """Every model at x2, x3, x4 and x8 on bicubic downscales, then 8x two ways, then alpha."""
    images = _images(crop)
    print(f"PSNR dB / SSIM on Y, border = scale, {crop}x{crop} crops; rows: model x scale")
    print(f"{'model':26} {'x':>2} " + " ".join(f"{name:>16}" for name in images))
    for spec in builtin_models():
        for scale in (2, 3, 4, 8):
            cells = []
            for truth in images.values():
                low = resize(truth, crop // scale, crop // scale, Filter.BICUBIC)
                out = upscale(low, spec, scale, models_dir, _ignore)
                cells.append("{:>8.2f} / {:.3f}".format(*_score(out, truth, scale)))
            print(f"{spec.id:26} {scale:>2} " + " ".join(cells), flush=True)
    print("\n8x with a 4x model: two native passes vs one pass + Lanczos 2x (PSNR dB)")
    for spec in builtin_models():
        if spec.native_scale != 4:
            continue
        two, one = [], []
        for truth in images.values():
            low = resize(truth, crop // 8, crop // 8, Filter.BICUBIC)
            single = upscale(low, spec, 4, models_dir, _ignore)
            one.append(_score(resize(single, crop, crop, Filter.LANCZOS), truth, 8)[0])
            half = resize(single, crop // 4, crop // 4, Filter.LANCZOS)
            two.append(_score(upscale(half, spec, 4, models_dir, _ignore), truth, 8)[0])
        print(f"{spec.id:26} two passes {np.mean(two):6.2f}   one pass + Lanczos {np.mean(one):6.2f}")
    _alpha_comparison(crop, models_dir)


def _degradation_bench(args: argparse.Namespace) -> None:
    """Run (or, with --tables-only, reload) the degraded-input scores and print every table."""
    scores_file = args.out / "scores.json"
    if args.tables_only:
        scores = [Score(**record) for record in json.loads(scores_file.read_text())]
    else:
        truths = [s for s in samples() if not args.images or s.name in args.images.split(",")]
        scales = tuple(int(scale) for scale in args.scales.split(","))
        args.out.mkdir(parents=True, exist_ok=True)
        scores = []
        models = tuple(filter(None, args.models.split(",")))
        for method_scores in run(truths, scales, args.models_dir, log_to_stderr, models):
            scores += method_scores
            scores_file.write_text(json.dumps(scores_as_json(scores), indent=0))
    lines: list[str] = []
    print_all(scores, lines.append)
    (args.out / "tables.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--crop", type=int, default=168, help="square crop of each image (divisible by 24, at most 191)"
    )
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    commands = parser.add_subparsers(dest="command")
    degraded = commands.add_parser("degradations", help="every model and option on JPEG and noisy inputs")
    degraded.add_argument("--out", type=Path, default=Path("var/bench/degradations"))
    degraded.add_argument("--scales", default="2,4,1", help="comma-separated; 1 is clean-up")
    degraded.add_argument("--images", default="", help="comma-separated sample names (default: all)")
    degraded.add_argument("--models", default="", help="comma-separated model ids (default: all)")
    degraded.add_argument("--tables-only", action="store_true", help="reprint the tables of --out")
    sheet = commands.add_parser("contact-sheet", help="one photo and one illustration through every model")
    sheet.add_argument("--out", type=Path, default=Path("docs/contact-sheet-x2.png"))
    sheet.add_argument("--degradation", default="jpeg50", help="the input's damage (default jpeg50)")
    sheet.add_argument("--scale", type=int, default=2)
    return parser


def main() -> None:
    args = _parser().parse_args()
    install_official_weights(args.models_dir)
    if args.command == "degradations":
        _degradation_bench(args)
    elif args.command == "contact-sheet":
        draw_contact_sheet(args.out, args.degradation, args.scale, args.models_dir)
    else:
        _clean_bench(args.crop, args.models_dir)


if __name__ == "__main__":
    main()
