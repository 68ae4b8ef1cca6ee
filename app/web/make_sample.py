"""The landing page's before/after sample: Real-ESRGAN x4 run on a photo that ships with scikit-image.

Run once, after `mindrender models install`, and commit the two images it writes:

    .venv/bin/python -m app.web.make_sample

The "before" is a 240 x 160 crop of scikit-image's `chelsea.png` (Stefan van der Walt's cat, CC0), halved
to 120 x 80 the way a thumbnail is made; the "after" is that small image upscaled 4x by
`realesrgan-x4plus` (photo restoration that invents texture) through the same engine the workers use.
Both are saved as WebP so the page ships a few tens of KB.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

from app.config import get_settings
from models.engine import upscale_to_integers
from models.registry import load_registry

MODEL = "realesrgan-x4plus"
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
    spec = load_registry(models_dir).get(MODEL)
    before = small_input()
    pixels = np.asarray(before, dtype=np.float32) / 255.0
    after = upscale_to_integers(pixels, spec, SCALE, models_dir, lambda _: None, 8)
    before.save(BEFORE, "WEBP", quality=90, method=6)
    Image.fromarray(after).save(AFTER, "WEBP", quality=82, method=6)
    for path in (BEFORE, AFTER):
        print(f"{path}: {Image.open(path).size}, {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
