"""Clean ground truth for the quality benches: held-out photos, illustrations and text, as square crops.

Photos are scikit-image's bundled photographs that SRCNN never trained on (training/train_srcnn.py). The
illustrations are public-domain Open Clip Art drawings from Debian's `openclipart-png` package, committed as
small crops in bench/data/illustrations/ so the bench needs no package installed; `ILLUSTRATIONS` records
where each one comes from and how it was cut, and `python bench/ground_truth.py /usr/share/openclipart/png`
cuts them again. Text is rendered with Pillow's bundled font, plus the scanned `page` from scikit-image.
Every crop holds exact 8-bit levels, like the images users upload.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from training.datasets import load_rgb

# 184 = 2 x 92 = 4 x 46: at x4 the model still sees 46 pixels (24-32 are too few to show what a model
# does), and the scanned page, 191 rows high, still fits.
CROP = 184
ILLUSTRATION_DIR = Path(__file__).parent / "data" / "illustrations"

Content = Literal["photo", "illustration", "text"]
CONTENTS: tuple[Content, ...] = ("photo", "illustration", "text")


@dataclass(frozen=True)
class Sample:
    """One clean crop, what a model's output is scored against: CROP x CROP x 3 float32 RGB in [0, 1]."""

    name: str
    content: Content
    rgb: np.ndarray


@dataclass(frozen=True)
class IllustrationSource:
    """Where a committed illustration crop comes from and how it was cut (for the provenance record)."""

    name: str
    path: str  # inside openclipart-png 1:0.18+dfsg-19, under /usr/share/openclipart/png/
    author: str
    width: int | None  # shrunk to this width first (Lanczos) where the drawing was rendered very large
    top: int
    left: int

    def cut(self, openclipart_png: Path) -> Image.Image:
        """The crop from the package's PNG: transparency flattened on white, shrunk, cut to CROP x CROP."""
        drawing = Image.open(openclipart_png / self.path).convert("RGBA")
        page = Image.new("RGBA", drawing.size, "white")
        page.alpha_composite(drawing)
        flat = page.convert("RGB")
        if self.width is not None:
            height = round(flat.height * self.width / flat.width)
            flat = flat.resize((self.width, height), Image.Resampling.LANCZOS)
        return flat.crop((self.left, self.top, self.left + CROP, self.top + CROP))


# Open Clip Art Library: every drawing dedicated to the public domain (the package's copyright file);
# authors as the file names give them. Flat colour with black outlines, anime-style faces, a detailed
# flat-colour drawing and pure line art.
ILLUSTRATIONS: tuple[IllustrationSource, ...] = (
    IllustrationSource("bach-cartoon", "people/bach_ganson.png", "ganson", None, 60, 80),
    IllustrationSource("anime-girl", "people/blue_girl_dirk_struve_.png", "Dirk Struve", None, 125, 95),
    IllustrationSource("anime-chibi", "people/chibi_character_rick_.png", "rick", None, 340, 272),
    IllustrationSource(
        "tiger", "animals/mammals/big_cats/tiger_graig_ryan_smith_-_01.png", "Graig Ryan Smith", 400, 130, 100
    ),
    IllustrationSource(
        "line-art-cat", "animals/mammals/housecats/sleeping_cat_ron_golan_01.png", "Ron Golan", 400, 70, 20
    ),
)

_PHOTOS: dict[str, tuple[Callable[[], np.ndarray], int, int]] = {
    "astronaut-face": (data.astronaut, 40, 150),
    "astronaut-patch": (data.astronaut, 290, 60),
    "coffee": (data.coffee, 120, 300),
    "chelsea": (data.chelsea, 60, 130),
}
_WORDS = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
_WORDS += ["0123456789", "Invoice", "total:", "$1,234.56"]


def rendered_text(
    size: int, font_size: int = 14, ink: str = "black", paper: str = "white", line: int = 18, top: int = 0
) -> np.ndarray:
    """Lines of text in Pillow's bundled font (the same on every machine), as float32 RGB in [0, 1]."""
    image = Image.new("RGB", (size, size), paper)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for row in range(top, size, line):
        shift = row % 7  # the rotation bench/quality.py always used, so its rendered-text figures stand
        draw.text((4, row), " ".join(_WORDS[shift:] + _WORDS[:shift]), fill=ink, font=font)
    return np.asarray(image, dtype=np.float32) / 255.0


def _interface_text(size: int) -> np.ndarray:
    """A screenshot-like panel: small grey text on a tinted background under a coloured title bar."""
    panel = rendered_text(size, font_size=11, ink="#333333", paper="#f3f0e6", line=14, top=24)
    image = Image.fromarray(np.rint(panel * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size, 20), fill="#2a5db0")
    draw.text((6, 3), "Settings - Export", fill="white", font=ImageFont.load_default(size=13))
    return np.asarray(image, dtype=np.float32) / 255.0


def _centre(rgb: np.ndarray, top: int, left: int) -> np.ndarray:
    return np.ascontiguousarray(rgb[top : top + CROP, left : left + CROP])


def _illustration(name: str) -> np.ndarray:
    with Image.open(ILLUSTRATION_DIR / f"{name}.png") as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def samples() -> list[Sample]:
    """Every ground-truth crop, photos first, then illustrations, then text."""
    found = [Sample(name, "photo", _centre(load_rgb(load), *at)) for name, (load, *at) in _PHOTOS.items()]
    found += [Sample(source.name, "illustration", _illustration(source.name)) for source in ILLUSTRATIONS]
    # Rendered text is quantised to 8-bit levels like every other sample (Pillow draws in 8 bits already).
    found += [
        Sample("rendered-text", "text", rendered_text(CROP)),
        Sample("interface-text", "text", _interface_text(CROP)),
        Sample("page-scan", "text", _centre(load_rgb(data.page), 4, 100)),
    ]
    for sample in found:
        if sample.rgb.shape != (CROP, CROP, 3):
            raise ValueError(f"{sample.name}: crop is {sample.rgb.shape}, expected {CROP}x{CROP}x3")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description="Cut the committed illustration crops again.")
    parser.add_argument("openclipart_png", type=Path, help="the package's /usr/share/openclipart/png")
    parser.add_argument("--out", type=Path, default=ILLUSTRATION_DIR)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for source in ILLUSTRATIONS:
        source.cut(args.openclipart_png).save(args.out / f"{source.name}.png", optimize=True)
        print(f"{source.name}: {source.path} ({source.author}), public domain")


if __name__ == "__main__":
    main()
