"""The photo preset's low band (issue #30): its detailed end over the faithful end's colour and shading.

RealSR, the photo preset's detail model, shifts colours by a level or more and lays a JPEG's blocks over
smooth skies and out-of-focus backgrounds as blotches. Since the blend takes everything coarser than the
input's pixels from the faithful end (models/recipe.py `low_band`), RealSR adds only finer detail. This
draws both side by side on held-out crops uploaded as the web makes them (area downscale x4, JPEG q80),
the smooth ones where the difference shows most and a textured one to see that the detail stays, and prints
each crop's luma PSNR. Writes docs/low-band.png: per row the upload (nearest), the default detail mixed in
pixels (before), over the low band (now), and the original.

    .venv/bin/python -m bench.low_band [--models-dir var/models]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.perception import SETS, Crop, Method, crops, degrade, luma_psnr
from models.recipe import run_recipe_to_integers
from models.zoo import builtin

SCALE = 4
OUT = Path("docs/low-band.png")
SHOWN = ("after-the-rain-0", "ladybird-0", "coffee-0")  # a sky, a bokeh background, a wall and a cup
TEXTURED = ("kleiber-0",)  # feathers on bark
COLUMNS = ("upload (nearest)", "detail 70 in pixels (before)", "detail 70 over the low band", "original")
TILE = 192
CAPTION = 28


def _ignore(_fraction: float) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    web = next(damage for damage in SETS if damage.name == "web")
    chosen: list[Crop] = [c for c in crops(smooth=True) if c.name in SHOWN]
    chosen += [c for c in crops() if c.name in TEXTURED]
    sheet = Image.new("RGB", (len(COLUMNS) * TILE, len(chosen) * (TILE + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, crop in enumerate(chosen):
        upload = degrade(crop.rgb, SCALE, web, f"{crop.name}/web/x{SCALE}")
        recipe = Method.parse("photo@70").resolved(upload)
        results = {}
        for name, each in (("before", replace(recipe, low_band=None)), ("now", recipe)):
            levels = run_recipe_to_integers(upload, each, SCALE, builtin, args.models_dir, _ignore, 8)
            results[name] = levels.astype(np.float32) / 255.0
        scores = {name: luma_psnr(out, crop.rgb) for name, out in results.items()}
        print(f"{crop.name:18} before {scores['before']:6.2f} dB  now {scores['now']:6.2f} dB")
        nearest = np.repeat(np.repeat(upload, SCALE, axis=0), SCALE, axis=1)
        tiles = (nearest, results["before"], results["now"], crop.rgb)
        captions = (crop.name, f"{scores['before']:.2f} dB", f"{scores['now']:.2f} dB", COLUMNS[3])
        y = row * (TILE + CAPTION)
        for column, (tile, caption) in enumerate(zip(tiles, captions, strict=True)):
            pixels = np.rint(np.clip(tile, 0.0, 1.0) * 255.0).astype(np.uint8)
            sheet.paste(Image.fromarray(pixels), (column * TILE, y))
            label = COLUMNS[column] if row == 0 and column < 3 else ""
            draw.text((column * TILE + 4, y + TILE + 2), caption, fill="black")
            draw.text((column * TILE + 4, y + TILE + 14), label, fill="#444")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
