"""Model quality: Y-channel PSNR/SSIM (border = scale) of every model against the ground truth.

    python bench/quality.py [--crop 192] [--models-dir var/models]

Ground truth: held-out images bundled with scikit-image (never used to train SRCNN) and rendered text; the
low-resolution input is the bicubic downscale. Also compares two ways to reach 8x with a 4x model: one pass +
Lanczos 2x (what the engine does), or two passes with the first result brought to 2x in between.
Real-ESRGAN is trained for perceptual quality on blind degradations, so PSNR/SSIM under-rate it here;
the figures still rank models per content type on the same footing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.metrics import structural_similarity

from models.builtin import builtin, builtin_models
from models.engine import upscale
from models.install import install_official_weights
from models.resample import Filter, resize
from models.srcnn import rgb_to_ycbcr
from models.train_srcnn import VALIDATION_IMAGES, load_rgb, psnr


def _text_image(size: int) -> np.ndarray:
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    words = [
        "The",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "0123456789",
        "Invoice",
        "total:",
        "$1,234.56",
    ]
    for row in range(0, size, 18):
        draw.text((4, row), " ".join(words[row % 7 :] + words[: row % 7]), fill="black", font=font)
    return np.asarray(image, dtype=np.float32) / 255.0


def _images(crop: int) -> dict[str, np.ndarray]:
    images = {}
    for name, loader in VALIDATION_IMAGES.items():
        rgb = load_rgb(loader)
        top, left = (rgb.shape[0] - crop) // 2, (rgb.shape[1] - crop) // 2
        images[name] = rgb[top : top + crop, left : left + crop]
    images["rendered-text"] = _text_image(crop)
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
    text = 1.0 - _text_image(crop)[:, :, 0]
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--crop", type=int, default=168, help="square crop of each image (divisible by 24, at most 191)"
    )
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    install_official_weights(args.models_dir)
    images = _images(args.crop)
    print(f"PSNR dB / SSIM on Y, border = scale, {args.crop}x{args.crop} crops; rows: model x scale")
    print(f"{'model':26} {'x':>2} " + " ".join(f"{name:>16}" for name in images))
    for spec in builtin_models():
        for scale in (2, 3, 4, 8):
            cells = []
            for truth in images.values():
                low = resize(truth, args.crop // scale, args.crop // scale, Filter.BICUBIC)
                out = upscale(low, spec, scale, args.models_dir, _ignore)
                cells.append("{:>8.2f} / {:.3f}".format(*_score(out, truth, scale)))
            print(f"{spec.id:26} {scale:>2} " + " ".join(cells), flush=True)
    print("\n8x with a 4x model: two native passes vs one pass + Lanczos 2x (PSNR dB)")
    for spec in builtin_models():
        if spec.native_scale != 4:
            continue
        two, one = [], []
        for truth in images.values():
            low = resize(truth, args.crop // 8, args.crop // 8, Filter.BICUBIC)
            single = upscale(low, spec, 4, args.models_dir, _ignore)
            one.append(_score(resize(single, args.crop, args.crop, Filter.LANCZOS), truth, 8)[0])
            half = resize(single, args.crop // 4, args.crop // 4, Filter.LANCZOS)
            two.append(_score(upscale(half, spec, 4, args.models_dir, _ignore), truth, 8)[0])
        print(f"{spec.id:26} two passes {np.mean(two):6.2f}   one pass + Lanczos {np.mean(one):6.2f}")
    _alpha_comparison(args.crop, args.models_dir)


if __name__ == "__main__":
    main()
