"""Text kept true: a drawn page through each recipe, read by OCR against the original's reading.

    python -m bench.perception_text [--scales 2,4] [--methods "bicubic;faithful;..."]

The page is uploaded as the web makes uploads (area shrink, JPEG q90); each recipe's result is read by
Tesseract, and the character error rate is the edit distance to the original page's reading over its
length. A model that loses or invents letters scores high, whatever its PSNR.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.perception import DEFAULT_METHODS, Damage, Method, log, run_recipe
from training.perception import ocr, read_against

# A page of plain sentences (not the random words faithful may train on), set at three sizes: at x4 the
# smallest is 7 px tall in the upload, the size of a caption in a phone screenshot.
PAGE_LINES = (
    "Please return the signed form before Friday, 14 March.",
    "The museum opens at 9:30 and closes at 17:00 daily.",
    "Tickets cost 12 euros; children under six enter free.",
    "Platform 3 for trains to Lyon, Geneva and Turin.",
    "Keep this receipt as proof of purchase: no. 480-2271.",
    "Shake well before use. Store below 25 C, away from light.",
)
PAGE_SIZES = (28, 36, 44)
PAGE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def text_page(size: int) -> np.ndarray:
    """The page's lines at one font size, dark ink on paper, as float32 RGB; its width a multiple of 8."""
    font = ImageFont.truetype(str(PAGE_FONT), size)
    width = max(round(font.getlength(line)) for line in PAGE_LINES) + 2 * size
    height = round(len(PAGE_LINES) * size * 1.5) + size
    page = Image.new("RGB", ((width + 7) // 8 * 8, (height + 7) // 8 * 8), (246, 243, 236))
    draw = ImageDraw.Draw(page)
    for row, line in enumerate(PAGE_LINES):
        draw.text((size, size // 2 + round(row * size * 1.5)), line, fill=(28, 28, 32), font=font)
    return np.asarray(page, dtype=np.float32) / 255.0


@dataclass(frozen=True)
class TextPoint:
    """How one method's result reads: character error rate against the original page's reading."""

    scale: int
    size: int
    method: str
    cer: float
    reading: str


def measure_text(recipes: list[Method], scales: list[int], models_dir: Path) -> list[TextPoint]:
    """OCR every recipe's result on the page at every size (web-like upload: area shrink, JPEG q90)."""
    found = []
    upload = Damage("text", Image.Resampling.BOX, jpeg_quality=90)
    for size in PAGE_SIZES:
        page = text_page(size)
        reference = ocr(page)
        for scale in scales:
            small = degrade_page(page, scale, upload)
            for recipe in recipes:
                reading = read_against(reference, run_recipe(recipe, small, scale, models_dir))
                found.append(TextPoint(scale, size, recipe.label, round(reading.cer, 3), reading.result))
                log(f"x{scale} {size}px {recipe.label:42} CER {reading.cer:.3f}  {reading.result[:60]}")
    return found


def degrade_page(page: np.ndarray, scale: int, damage: Damage) -> np.ndarray:
    """A page shrunk by `scale` (any aspect), then damaged as `degrade` does."""
    pixels = Image.fromarray(np.rint(page * 255.0).astype(np.uint8))
    small = pixels.resize((pixels.width // scale, pixels.height // scale), damage.shrink)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=damage.jpeg_quality or 95)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0


def text_table(points: list[TextPoint]) -> str:
    """Markdown: character error rate per method, one column per scale and font size."""
    columns = sorted({(p.scale, p.size) for p in points})
    methods = list(dict.fromkeys(p.method for p in points))
    cer = {(p.method, p.scale, p.size): p.cer for p in points}
    lines = [
        "| method | " + " | ".join(f"x{s}, {z} px" for s, z in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    lines += [f"| {m} | " + " | ".join(f"{cer[m, s, z]:.2f}" for s, z in columns) + " |" for m in methods]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="2,4")
    parser.add_argument("--methods", default=";".join(DEFAULT_METHODS), help="recipes separated by ';'")
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    recipes = [Method.parse(text) for text in args.methods.split(";") if text.strip()]
    scales = [int(s) for s in args.scales.split(",")]
    print(text_table(measure_text(recipes, scales, args.models_dir)))


if __name__ == "__main__":
    main()
