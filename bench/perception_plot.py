"""The perception-distortion plane of a bench/perception.py run, drawn with Pillow: one panel per scale and
set, PSNR over bicubic across (right is more faithful), NIQE down (lower looks more natural), so the best
trade-offs sit at the bottom right."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont


class Point(Protocol):
    """What the plane needs of a measured point (bench/perception.py's Point)."""

    @property
    def scale(self) -> int: ...
    @property
    def set(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def psnr_gain(self) -> float: ...
    @property
    def niqe(self) -> float: ...


PANEL_W, PANEL_H = 520, 400
MARGIN_L, MARGIN_B, MARGIN_T, MARGIN_R = 56, 40, 30, 16
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default()


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = 10 ** math.floor(math.log10(max((high - low) / count, 1e-9)))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _panel(points: Sequence[Point], title: str) -> Image.Image:
    panel = Image.new("RGB", (PANEL_W, PANEL_H), "white")
    draw = ImageDraw.Draw(panel)
    small, label = _font(11), _font(13)
    xs, ys = [p.psnr_gain for p in points], [p.niqe for p in points]
    x_low, x_high = min(xs) - 0.3, max(xs) + 0.3
    y_low, y_high = min(ys) - 0.3, max(ys) + 0.3
    width, height = PANEL_W - MARGIN_L - MARGIN_R, PANEL_H - MARGIN_T - MARGIN_B

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            MARGIN_L + (x - x_low) / (x_high - x_low) * width,
            MARGIN_T + (y - y_low) / (y_high - y_low) * height,
        )

    draw.rectangle((MARGIN_L, MARGIN_T, MARGIN_L + width, MARGIN_T + height), outline="#888")
    for tick in _ticks(x_low, x_high):
        px, _ = at(tick, y_low)
        draw.line((px, MARGIN_T, px, MARGIN_T + height), fill="#eee")
        draw.text((px, MARGIN_T + height + 4), f"{tick:+g}", fill="#444", font=small, anchor="mt")
    for tick in _ticks(y_low, y_high):
        _, py = at(x_low, tick)
        draw.line((MARGIN_L, py, MARGIN_L + width, py), fill="#eee")
        draw.text((MARGIN_L - 4, py), f"{tick:g}", fill="#444", font=small, anchor="rm")
    draw.text((PANEL_W / 2, 8), title, fill="black", font=label, anchor="mt")
    draw.text(
        (PANEL_W / 2, PANEL_H - 6), "dB over bicubic (more faithful ->)", fill="#444", font=small, anchor="mb"
    )
    draw.text((4, MARGIN_T - 18), "NIQE (lower looks more natural)", fill="#444", font=small)
    zero, _ = at(0.0, y_low)
    draw.line((zero, MARGIN_T, zero, MARGIN_T + height), fill="#c88")
    for point in points:
        px, py = at(point.psnr_gain, point.niqe)
        colour = "#d33" if ">" in point.method else "#236"
        draw.ellipse((px - 3.5, py - 3.5, px + 3.5, py + 3.5), fill=colour)
        draw.text((px + 5, py - 6), point.method, fill=colour, font=small)
    return panel


def draw_plane(points: Sequence[Point], out: Path) -> None:
    """Every (scale, set) of the run as a panel, sets across, scales down; pipelines in red."""
    scales = sorted({p.scale for p in points})
    sets = list(dict.fromkeys(p.set for p in points))
    sheet = Image.new("RGB", (PANEL_W * len(sets), PANEL_H * len(scales)), "white")
    for row, scale in enumerate(scales):
        for column, name in enumerate(sets):
            chosen = [p for p in points if p.scale == scale and p.set == name]
            if chosen:
                sheet.paste(_panel(chosen, f"x{scale}, {name}"), (column * PANEL_W, row * PANEL_H))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
