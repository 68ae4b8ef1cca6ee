"""A contact sheet: one photo and one illustration through every model (x2 by default), for looking.

The input is the crop as bench/degradations.py degrades it (same pixels, same seed), so each tile's PSNR
is the bench's figure for that crop. Each tile shows the middle of the output at 1:1 (no resampling that
would hide or add sharpness), labelled with the model, its option and the PSNR of the whole crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.degradations import DEGRADATIONS, Method, degrade, methods_at, run_method, score
from bench.ground_truth import Sample, samples
from models.imaging.resample import Filter, resize
from models.zoo import builtin_models

SHEET_SAMPLES = ("astronaut-face", "anime-chibi")
TILE = 88  # pixels of output shown per tile: eyes to mouth, and a sheet under 600 KB
LABEL = 36
COLUMNS = 7


def sheet_methods(scale: int) -> list[Method]:
    """Every model plain at this scale and, where it has denoise levels there, its strongest one too."""
    found = []
    for spec in builtin_models():
        offered = methods_at(spec, scale)
        strongest = max(spec.options_at(scale).denoise, default=None)
        found += [m for m in offered if m.options.denoise is None and not m.options.conservative]
        found += [m for m in offered if strongest is not None and m.options.denoise == strongest]
    return found


def _window(image: np.ndarray) -> Image.Image:
    top, left = (image.shape[0] - TILE) // 2, (image.shape[1] - TILE) // 2
    pixels = np.rint(np.clip(image[top : top + TILE, left : left + TILE], 0.0, 1.0) * 255.0)
    return Image.fromarray(pixels.astype(np.uint8))


def _tiles(
    truth: Sample, degradation: str, scale: int, models_dir: Path
) -> list[tuple[Image.Image, str, str]]:
    """(picture, first label line, second label line) for the truth, the input and every method."""
    chosen = next(d for d in DEGRADATIONS if d.name == degradation)
    low = degrade(truth.rgb, scale, chosen, f"{truth.name}/{chosen.name}/x{scale}")
    size = truth.rgb.shape[0]
    shown_input = resize(low, size, size, Filter.NEAREST)
    tiles = [
        (_window(truth.rgb), "ground truth", truth.name),
        (_window(shown_input), f"input ({degradation})", f"nearest x{scale}, to see it"),
    ]
    for method in sheet_methods(scale):
        out = run_method(method, low, scale, models_dir)
        option = method.label.removeprefix(method.model).strip() or "plain"
        tiles.append((_window(out), method.model, f"{option}  {score(out, truth.rgb)[0]:.2f} dB"))
    return tiles


def _wrapped(
    text: str, draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> list[str]:
    """The label on one line, or broken after a hyphen where the model id is wider than a tile."""
    if draw.textlength(text, font=font) <= TILE or "-" not in text:
        return [text]
    cut = max(
        i for i, char in enumerate(text) if char == "-" and draw.textlength(text[: i + 1], font=font) <= TILE
    )
    return [text[: cut + 1], text[cut + 1 :]]


def draw_contact_sheet(out: Path, degradation: str, scale: int, models_dir: Path) -> None:
    """Draw the sheet for SHEET_SAMPLES at `scale` from inputs with `degradation`, and save it as PNG."""
    truths = [s for s in samples() if s.name in SHEET_SAMPLES]
    rows = [_tiles(truth, degradation, scale, models_dir) for truth in truths]
    lines_per_sample = -(-len(rows[0]) // COLUMNS)
    cell_w, cell_h = TILE + 4, TILE + LABEL
    sheet = Image.new("RGB", (COLUMNS * cell_w, len(rows) * lines_per_sample * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=10)
    for r, tiles in enumerate(rows):
        for i, (picture, first, second) in enumerate(tiles):
            x = (i % COLUMNS) * cell_w + 2
            y = (r * lines_per_sample + i // COLUMNS) * cell_h
            sheet.paste(picture, (x, y))
            lines = [*_wrapped(first, draw, font), second]
            for n, text in enumerate(lines):
                draw.text(
                    (x, y + TILE + 1 + 11 * n),
                    text,
                    fill="black" if n < len(lines) - 1 else "#444444",
                    font=font,
                )
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(f"{out}: {sheet.width}x{sheet.height}, {out.stat().st_size // 1024} KiB")
