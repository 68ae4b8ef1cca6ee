"""The images the faithful model learns from and is judged on, and the degradation it undoes.

Training: the 15 scikit-image pictures SRCNN trains on (training/train_srcnn.py), 10 of the 12 nature
photos in Debian's `mate-backgrounds` package (1.26.0-1, GPL-2+; `apt-get install mate-backgrounds`) and
drawn pages of random words in the DejaVu fonts (`text_page`; Debian's fonts-dejavu-core).
Held out, never trained on: SRCNN's 4 validation images (astronaut, coffee, chelsea, page) and 2 of the
photos (Dune, LadyBird), chosen by content before any result was seen: a sunlit grass and sea landscape and
a macro shot.

The photos are JPEGs of 1.3 to 4 MP; each is halved with a box filter first (Pillow's `reduce(2)`), which
averages away most of their compression noise, so the network learns clean detail, not JPEG blocks.
The degradation is the one the service undoes and the benches measure: bicubic downscale in float
(models.imaging.resample), on RGB, then the luma (full-range BT.601) of every plane.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from models.imaging.resample import Filter, resize
from models.runtimes.srcnn import rgb_to_ycbcr
from training.datasets import TRAIN_IMAGES, VALIDATION_IMAGES, load_rgb

PHOTO_DIR = Path("/usr/share/backgrounds/mate/nature")
# sha256 prefixes of mate-backgrounds 1.26.0-1's files: a different package version is different data.
TRAIN_PHOTOS = {
    "Aqua": "5c30118205982da4",
    "Blinds": "f7aac0dcc2e06d04",
    "FreshFlower": "972b0a0c4e5e3fa9",
    "Garden": "d3095ee09d425ef2",
    "GreenMeadow": "8fa0de0aa4089f73",
    "RainDrops": "3e4ea9671c28c90a",
    "Storm": "77ca53077831d323",
    "TwoWings": "665e5abf8a539907",
    "Wood": "19c78500ac00a622",
    "YellowFlower": "254da96256acb7ad",
}
HELD_OUT_PHOTOS = {"Dune": "8a67c2cb0be8c46b", "LadyBird": "e35a9a4126ef969c"}


# Text pages are drawn, not photographed: documents are what the faithful preset is for, and the photos
# hold no letters. Fonts from Debian's fonts-dejavu-core (Bitstream Vera licence).
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf")
PAGE_SIDE = 768
_LETTERS = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzeeeeaaoottiinnss0123456789.,;:-'()"


class PhotosMissing(FileNotFoundError):
    """The mate-backgrounds photos are not installed, or are not the pinned version."""


def load_photo(name: str, digest: str, photo_dir: Path = PHOTO_DIR) -> np.ndarray:
    """One mate-backgrounds photo, halved with a box filter, as float32 HxWx3 RGB in [0, 1]."""
    path = photo_dir / f"{name}.jpg"
    if not path.is_file():
        raise PhotosMissing(f"{path} is missing: apt-get install mate-backgrounds (1.26.0-1)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest()[:16] != digest:
        raise PhotosMissing(f"{path} is not the file of mate-backgrounds 1.26.0-1")
    with Image.open(path) as image:
        halved = image.convert("RGB").reduce(2)
    return np.asarray(halved, dtype=np.float32) / np.float32(255.0)


def text_page(seed: int, font_dir: Path = FONT_DIR) -> np.ndarray:
    """A drawn page of random words as float32 RGB (gray): dark ink on paper, one font and size per line.

    Sizes run from 10 to 40 pixels, so at x4 the smallest letters are 2-3 input pixels high, as on a
    scanned page; the paper's level and the ink's vary per page, and some pages are softened by up to a
    pixel of blur, as a scan is.
    """
    rng = np.random.default_rng(seed)
    paper, ink = int(rng.integers(200, 256)), int(rng.integers(0, 90))
    page = Image.new("L", (PAGE_SIDE, PAGE_SIDE), paper)
    draw = ImageDraw.Draw(page)
    y = int(rng.integers(4, 24))
    while y < PAGE_SIDE:
        size = int(rng.integers(10, 41))
        font = ImageFont.truetype(str(font_dir / FONTS[int(rng.integers(len(FONTS)))]), size)
        words = (
            "".join(_LETTERS[int(i)] for i in rng.integers(len(_LETTERS), size=int(rng.integers(1, 10))))
            for _ in range(PAGE_SIDE // (2 * size) + 4)
        )
        draw.text((int(rng.integers(-size, 3 * size)), y), " ".join(words), fill=ink, font=font)
        y += int(size * rng.uniform(1.15, 1.6))
    blurred = page.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 1.0))))
    gray = np.asarray(blurred, dtype=np.float32) / np.float32(255.0)
    return np.repeat(gray[:, :, None], 3, axis=2)


def training_images(
    photo_dir: Path = PHOTO_DIR, text_pages: int = 0, font_dir: Path = FONT_DIR
) -> dict[str, np.ndarray]:
    """Every training image by name, as float32 RGB; `text_pages` drawn pages (seeds 0, 1, ...) last."""
    images = {name: load_rgb(loader) for name, loader in TRAIN_IMAGES.items()}
    images |= {name: load_photo(name, digest, photo_dir) for name, digest in TRAIN_PHOTOS.items()}
    images |= {f"text{seed}": text_page(seed, font_dir) for seed in range(text_pages)}
    return images


def held_out_images(photo_dir: Path = PHOTO_DIR, photos: bool = True) -> dict[str, np.ndarray]:
    """The held-out images by name: SRCNN's validation set, then (if wanted and installed) the 2 photos."""
    images = {name: load_rgb(loader) for name, loader in VALIDATION_IMAGES.items()}
    if photos:
        images |= {name: load_photo(name, digest, photo_dir) for name, digest in HELD_OUT_PHOTOS.items()}
    return images


@dataclass(frozen=True)
class LumaPair:
    """One image at one scale, as luma planes: the low-resolution input, its bicubic upscale, the truth."""

    name: str
    scale: int
    low: np.ndarray
    bicubic: np.ndarray
    truth: np.ndarray


def degrade(hr_rgb: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The truth cropped to a multiple of `scale`, and its bicubic downscale (both RGB)."""
    height, width = (hr_rgb.shape[0] // scale) * scale, (hr_rgb.shape[1] // scale) * scale
    truth = np.ascontiguousarray(hr_rgb[:height, :width])
    return truth, resize(truth, width // scale, height // scale, Filter.BICUBIC)


def luma(rgb: np.ndarray) -> np.ndarray:
    """The full-range BT.601 luma of an RGB image, as a contiguous HxW plane."""
    return np.ascontiguousarray(rgb_to_ycbcr(rgb)[:, :, 0])


def make_pair(name: str, hr_rgb: np.ndarray, scale: int) -> LumaPair:
    """Degrade as the service's inputs are, and keep the luma of input, bicubic upscale and truth."""
    truth, low = degrade(hr_rgb, scale)
    bicubic = resize(low, truth.shape[1], truth.shape[0], Filter.BICUBIC)
    return LumaPair(name, scale, luma(low), luma(bicubic), luma(truth))
