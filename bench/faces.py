"""Faces under the photo preset (issue #30): its default detail everywhere, and calmer where a face is found.

A portrait (scikit-image's astronaut, 512 px, the one photo of a face this machine has) is uploaded as the web
makes it (area downscale to 128 px; clean, and JPEG q80), upscaled 4x by the photo preset at its default
detail with the face treated as the rest (the detail model's share 0.79 everywhere) and as the preset does it
(models/imaging/faces.py: the share falls to detail 20's over the face). Prints the faces found, the luma PSNR
over the face's ellipse and over the rest for both, and writes docs/faces.png: per row bicubic, the default
without and with the calmer face, detail 0, and the original, cropped to the face.

    .venv/bin/python -m bench.faces [PHOTO ...]
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import models.imaging.analysis as analysis
from app.catalog.presets import PRESETS
from models.imaging.faces import find_faces
from models.imaging.resample import Filter, resize
from models.recipe import run_recipe_to_integers
from models.zoo import builtin

SCALE = 4
OUT = Path("docs/faces.png")
COLUMNS = ("bicubic", "default, face as the rest", "default (face calmer)", "detail 0", "original")


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.float32) / 255.0  # type: ignore[no-untyped-call]


def _upload(truth: np.ndarray, quality: int | None) -> bytes:
    height, width = truth.shape[:2]
    small = Image.fromarray(np.rint(truth * 255).astype(np.uint8)).resize(
        (width // SCALE, height // SCALE), Image.Resampling.BOX
    )
    buffer = io.BytesIO()
    small.save(
        buffer, "PNG" if quality is None else "JPEG", **({} if quality is None else {"quality": quality})
    )
    return buffer.getvalue()


def _luma(rgb: np.ndarray) -> np.ndarray:
    luma: np.ndarray = rgb[:, :, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return luma


def _psnr(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    error = float(((_luma(a) - _luma(b)) ** 2 * weight).sum() / max(float(weight.sum()), 1e-9))
    return float(10 * np.log10(1.0 / max(error, 1e-12)))


def _outputs(upload: bytes, models_dir: Path) -> dict[str, np.ndarray]:
    photo = PRESETS["photo"]
    level = photo.level_of(analysis.analyse(upload).damage)
    pixels = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"), dtype=np.float32) / 255.0
    calm = photo.recipe(level, None)
    recipes = {"default, face as the rest": replace(calm, faces=None), "default (face calmer)": calm}
    recipes["detail 0"] = photo.recipe(level, 0)
    out = {
        name: run_recipe_to_integers(pixels, recipe, SCALE, builtin, models_dir, lambda _: None, 8) / 255.0
        for name, recipe in recipes.items()
    }
    height, width = pixels.shape[:2]
    return {"bicubic": np.clip(resize(pixels, width * SCALE, height * SCALE, Filter.BICUBIC), 0, 1), **out}


def _crop(image: np.ndarray, box: tuple[int, int, int, int], side: int = 240) -> Image.Image:
    x, y, w, h = box
    cx, cy, half = x + w // 2, y + h // 2, max(w, h) * 3 // 4
    part = image[max(0, cy - half) : cy + half, max(0, cx - half) : cx + half]
    tile = Image.fromarray(np.rint(np.clip(part, 0, 1) * 255).astype(np.uint8))
    return tile.resize((side, side), Image.Resampling.LANCZOS)


def main(paths: list[str]) -> None:
    models_dir = Path("var/models")
    photos = {"astronaut": _astronaut()}
    photos |= {
        Path(p).stem: np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0 for p in paths
    }
    rows: list[tuple[str, list[Image.Image]]] = []
    for name, truth in photos.items():
        height, width = (side - side % SCALE for side in truth.shape[:2])
        truth = truth[:height, :width]
        for quality in (None, 80):
            upload = _upload(truth, quality)
            small = np.asarray(Image.open(io.BytesIO(upload)).convert("RGB"), dtype=np.float32) / 255.0
            started = time.perf_counter()
            faces = find_faces(small)
            seconds = time.perf_counter() - started
            label = f"{name} {'PNG' if quality is None else f'JPEG q{quality}'}"
            print(f"{label}: faces {faces.boxes} found in {seconds:.3f} s")
            if not faces.boxes:
                continue
            mask = np.asarray(Image.fromarray(faces.mask).resize((width, height), Image.Resampling.BILINEAR))
            outputs = _outputs(upload, models_dir)
            for method, image in outputs.items():
                face, rest = _psnr(image, truth, mask), _psnr(image, truth, 1.0 - mask)
                print(f"  {method:28s} face {face:6.2f} dB   rest {rest:6.2f} dB")
            x, y, w, h = faces.boxes[0]
            box = (x * SCALE, y * SCALE, w * SCALE, h * SCALE)
            rows.append(
                (label, [_crop(outputs[c], box) if c in outputs else _crop(truth, box) for c in COLUMNS])
            )
    _sheet(rows)


def _sheet(rows: list[tuple[str, list[Image.Image]]], side: int = 240, head: int = 22) -> None:
    sheet = Image.new("RGB", (side * len(COLUMNS), (side + head) * len(rows) + head), "white")
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(COLUMNS):
        draw.text((column * side + 6, 5), title, fill="black")
    for row, (label, tiles) in enumerate(rows):
        top = head + row * (side + head)
        draw.text((6, top + 5), f"{label}, x{SCALE}", fill="black")
        for column, tile in enumerate(tiles):
            sheet.paste(tile, (column * side, top + head))
    OUT.parent.mkdir(exist_ok=True)
    sheet.save(OUT, optimize=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
