"""What the fine-colour reading (issue #30) changes for a user: smooth photos that `auto` took for drawings.

Four smooth 256-px parts of held-out Debian photos (lomiri-wallpapers-16.04, lxqt-themes; `make bench-data`),
uploaded as the web makes them (area downscale 4x to 64 px, JPEG q80), upscaled 4x by what auto ran on them
before (the anime preset) and what it runs now (the photo preset at its default detail). Prints each crop's
reading before and now and the luma PSNR, with NIQE over the mosaic of the four (single crops are too small
for NIQE), and writes docs/auto-smooth-photos.png: per row bicubic, before, now and the original.

    .venv/bin/python -m bench.auto_smooth
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import models.imaging.analysis as analysis
from app.catalog.presets import PRESETS
from bench.perception import luma_psnr
from models.imaging.resample import Filter, resize
from models.recipe import run_recipe_to_integers
from models.zoo import builtin
from training.perception import mosaic, niqe

# (photo, top-left corner in the 1024-px-long image): smooth parts (a wall, a sky, fog, clouds); whether auto
# reads each upload differently now is what the bench prints.
CROPS = {
    "greentock": ("/usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg", (40, 40)),
    "free": ("/usr/share/backgrounds/free_by_Peter_Nerlich.jpg", (600, 420)),
    "fog": ("/usr/share/lxqt/wallpapers/fog.jpg", (80, 60)),
    "cloud": ("/usr/share/lxqt/wallpapers/cloud.png", (700, 450)),
}
SIDE, SCALE = 256, 4
OUT = Path("docs/auto-smooth-photos.png")


def _truth(path: str, left: int, top: int) -> np.ndarray:
    photo = Image.open(path).convert("RGB")
    ratio = 1024 / max(photo.size)
    photo = photo.resize((round(photo.width * ratio), round(photo.height * ratio)), Image.Resampling.BOX)
    return np.asarray(photo.crop((left, top, left + SIDE, top + SIDE)), dtype=np.float32) / 255.0


def _upload(truth: np.ndarray) -> bytes:
    small = Image.fromarray(np.rint(truth * 255).astype(np.uint8)).resize(
        (SIDE // SCALE, SIDE // SCALE), Image.Resampling.BOX
    )
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _run(preset: str, upload: bytes, models_dir: Path) -> np.ndarray:
    chosen = PRESETS[preset]
    recipe = chosen.recipe(chosen.level_of(analysis.analyse(upload).damage), None)
    pixels = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"), dtype=np.float32) / 255.0
    out = run_recipe_to_integers(pixels, recipe, SCALE, builtin, models_dir, lambda _: None, 8)
    return out.astype(np.float32) / 255.0


def main() -> None:
    from app.config import get_settings

    models_dir = get_settings().resolved_models_dir
    rows, before_all, now_all = [], [], []
    header = ("crop", "read before", "read now", "bicubic dB", "before dB", "now dB")
    print(f"{header[0]:10} " + " ".join(f"{h:>11}" for h in header[1:]))
    for name, (path, (left, top)) in CROPS.items():
        truth = _truth(path, left, top)
        upload = _upload(truth)
        coarse_only = analysis.FINE_COLOURS
        analysis.FINE_COLOURS = 0.0  # the reading before: coarse colours alone
        was = analysis.analyse(upload).content
        analysis.FINE_COLOURS = coarse_only
        now = analysis.analyse(upload).content
        pixels = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"), dtype=np.float32) / 255.0
        bicubic = np.clip(resize(pixels, SIDE, SIDE, Filter.BICUBIC), 0, 1)
        before, after = _run(was, upload, models_dir), _run(now, upload, models_dir)
        scores = [luma_psnr(image, truth) for image in (bicubic, before, after)]
        print(f"{name:10} {was:>11} {now:>11} " + " ".join(f"{s:11.2f}" for s in scores))
        rows.append((name, was, now, [bicubic, before, after, truth]))
        before_all.append(before)
        now_all.append(after)
    for label, images in (("before", before_all), ("now", now_all)):
        print(f"NIQE of the mosaic, {label}: {niqe(mosaic(images, 2)):.2f}")
    _sheet(rows)


def _sheet(rows: Sequence[tuple[str, str, str, list[np.ndarray]]]) -> None:
    label = 18
    sheet = Image.new("RGB", (4 * SIDE, len(rows) * (SIDE + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, (name, was, now, images) in enumerate(rows):
        y = row * (SIDE + label)
        titles = ["bicubic", f"before: read as {was}", f"now: read as {now}", f"original ({name})"]
        for column, (image, title) in enumerate(zip(images, titles, strict=True)):
            sheet.paste(Image.fromarray(np.rint(image * 255).astype(np.uint8)), (column * SIDE, y + label))
            draw.text((column * SIDE + 4, y + 3), title, fill="black")
    sheet.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
