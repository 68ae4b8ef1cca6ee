"""The landing page's before/after sample: the photo preset at its default detail, as a job runs it.

Run once, after `mindrender models install`, and commit the two images it writes:

    .venv/bin/python -m app.web.make_sample

The "before" is a 240 x 160 crop of scikit-image's `chelsea.png` (Stefan van der Walt's cat, CC0), halved
to 120 x 80 the way a thumbnail is made; the "after" is that small image upscaled 4x by what `preset=photo`
runs on it (the damage read from the file, the preset's default `detail`: app/catalog/presets.py) through the
same recipe runner and engine the workers use. Both are saved as WebP so the page ships a few tens of KB.
"""

from __future__ import annotations

import io
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

from app.catalog.presets import PRESETS
from app.config import get_settings
from models.imaging.analysis import analyse
from models.recipe import run_recipe_to_integers
from models.registry import load_registry

PRESET = "photo"
SCALE = 4
CROP = (150, 10, 390, 170)  # left, top, right, bottom in chelsea.png (451 x 300): the cat's face
STATIC = Path(__file__).parent / "static"
BEFORE = STATIC / "sample-before.webp"
AFTER = STATIC / "sample-after.webp"


def small_input() -> Image.Image:
    """The low-resolution input: the crop, halved with a box filter."""
    with Image.open(str(files("skimage") / "data" / "chelsea.png")) as photo:
        crop = photo.convert("RGB").crop(CROP)
    return crop.resize((crop.width // 2, crop.height // 2), Image.Resampling.BOX)


def main() -> None:
    models_dir = get_settings().resolved_models_dir
    registry = load_registry(models_dir)
    before = small_input()
    upload = io.BytesIO()
    before.save(upload, "PNG")
    preset = PRESETS[PRESET]
    recipe = preset.recipe(preset.level_of(analyse(upload.getvalue()).damage), None)
    print(f"{PRESET} at detail {preset.default_detail}: {recipe.describe()}")
    pixels = np.asarray(before, dtype=np.float32) / 255.0
    after = run_recipe_to_integers(pixels, recipe, SCALE, registry.get, models_dir, lambda _: None, 8)
    before.save(BEFORE, "WEBP", quality=90, method=6)
    Image.fromarray(after).save(AFTER, "WEBP", quality=82, method=6)
    for path in (BEFORE, AFTER):
        print(f"{path}: {Image.open(path).size}, {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
