"""What an image is and how damaged: content (photo, illustration, text) and noise/compression, no weights.

Cheap measurements, a few tens of milliseconds on a 25 MP upload (they look at a sample of at most 512x512):
- JPEG quality from the file's own quantisation tables (what the encoder was told), when it is a JPEG;
- otherwise blockiness (steps on the 8x8 grid a JPEG leaves behind, in a PNG saved from one) and noise
  (Immerkaer's estimate of Gaussian noise from a Laplacian-like high-pass, robust to smooth gradients);
- content from colour statistics: text is near-binary and grey; illustrations have few colours (coarse and
  fine: a smooth photo has few coarse ones only) and large flat regions; photos have neither.
The thresholds were set on the labelled set of bench/autopreset.py (docs/benchmarks.md has its accuracy).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter

ContentClass = Literal["photo", "anime", "text"]
SAMPLE_SIDE = 512
# The IJG standard luminance quantisation table (quality 50); an encoder's table is this scaled by quality.
_IJG_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip


@dataclass(frozen=True)
class Damage:
    """How damaged an image looks: a level 0 (clean) to 3 (heavy), and the measurement behind it."""

    level: int
    jpeg_quality: int | None
    noise_sigma: float
    blockiness: float
    blocky: bool = False  # the level was read from the blocks (photos only)

    def describe(self) -> str:
        if self.jpeg_quality is not None:
            return f"JPEG quality ~{self.jpeg_quality}"
        if self.blocky:
            return f"JPEG blocks (blockiness {self.blockiness:.2f})"
        return f"noise ~{self.noise_sigma:.1f} levels" if self.noise_sigma >= 2 else "clean"


@dataclass(frozen=True)
class Analysis:
    """An image's content class and damage, with the figures that decided them."""

    content: ContentClass
    damage: Damage
    figures: ContentFigures

    def reason(self) -> str:
        """One line for people: `JPEG quality ~35; photo`."""
        return f"{self.damage.describe()}; {self.content}"


def _scaled_table(quality: int) -> np.ndarray:
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    return np.clip(np.floor((_IJG_LUMA * scale + 50) / 100), 1, 255)


def jpeg_quality(image: Image.Image) -> int | None:
    """The IJG quality whose luminance table is closest to the file's (sums compared, so order does not
    matter); None for a file that is not a JPEG."""
    tables = getattr(image, "quantization", None)
    if image.format != "JPEG" or not tables or 0 not in tables:
        return None
    luma = float(np.sum(np.asarray(tables[0], dtype=np.float64)))
    return min(range(1, 101), key=lambda q: abs(float(np.sum(_scaled_table(q))) - luma))


def _viewable(image: Image.Image) -> Image.Image:
    """The image in a mode Pillow converts to L and RGB, at the scale the decoder reads it: float grey
    from [0, 1] (Pillow's own conversion clips it at 1 of 255), LAB through RGB (Pillow has no LAB to L)."""
    if image.mode == "F":
        values = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return Image.fromarray(np.rint(values * 255).astype(np.uint8))
    if image.mode == "LAB":
        return image.convert("RGB")
    return image


def _luma_sample(image: Image.Image) -> np.ndarray:
    """The centre of the image, at most 512 x 512, as float luma in 0..255 (noise is measured unscaled)."""
    gray = _viewable(image).convert("L")
    width, height = gray.size
    left, top = max(0, (width - SAMPLE_SIDE) // 2), max(0, (height - SAMPLE_SIDE) // 2)
    crop = gray.crop((left, top, min(width, left + SAMPLE_SIDE), min(height, top + SAMPLE_SIDE)))
    return np.asarray(crop, dtype=np.float64)


def noise_sigma(luma: np.ndarray) -> float:
    """The standard deviation of additive Gaussian noise, in 8-bit levels, from the smooth half of the image.

    Immerkaer's (1996) high-pass (for Gaussian noise its output has 6 sigma of spread), read robustly: the
    median absolute value over the pixels whose gradient is in the lower half, so that edges and texture,
    which a mean over every pixel counts as noise (18 levels on clean rendered text), count far less.
    """
    if min(luma.shape) < 5:
        return 0.0
    conv = (
        luma[:-2, :-2] - 2 * luma[:-2, 1:-1] + luma[:-2, 2:]
        - 2 * luma[1:-1, :-2] + 4 * luma[1:-1, 1:-1] - 2 * luma[1:-1, 2:]
        + luma[2:, :-2] - 2 * luma[2:, 1:-1] + luma[2:, 2:]
    )  # fmt: skip
    gradient = np.abs(luma[1:-1, 2:] - luma[1:-1, :-2]) + np.abs(luma[2:, 1:-1] - luma[:-2, 1:-1])
    smooth = np.abs(conv[gradient <= np.median(gradient)])
    return float(1.4826 * np.median(smooth) / 6) if smooth.size else 0.0


def blockiness(luma: np.ndarray) -> float:
    """Mean step across the 8-pixel grid over the mean step elsewhere: about 1 for a clean image, above
    1.3 where a JPEG's blocks show (both directions, so a crop on another grid phase still counts).

    Below 128 px a side there are too few grid lines: the strongest of eight phases stands out by chance
    (clean 48-96 px photo crops measured up to 1.5, a heavy JPEG's level), so a small image reads 1."""
    if min(luma.shape) < BLOCKS_FROM_SIDE:
        return 1.0
    ratios = []
    for steps in (np.abs(np.diff(luma, axis=1)), np.abs(np.diff(luma, axis=0)).T):
        columns = steps.mean(axis=0)
        on_grid = [columns[phase::8].mean() for phase in range(8)]
        best = int(np.argmax(on_grid))
        off = np.delete(columns, np.s_[best::8]).mean()
        ratios.append(on_grid[best] / off if off > 0.5 else 1.0)
    return float(np.mean(ratios))


BLOCKY = 1.25
BLOCKS_FROM_SIDE = 128
# Fine colours decide photo against drawing only where damage leaves flat fills flat: a JPEG of quality 75 and
# up; another file with noise below the light level's 2.6 levels and no trace of 8x8 blocks (a PNG saved from
# a JPEG of quality 40 measured 1.11-1.2 on the drawings, clean images about 1.0).
FINE_COLOURS = 0.45
FINE_FROM_QUALITY = 75
FINE_BELOW_SIGMA = 2.6
FINE_BELOW_BLOCKINESS = 1.1


def damage_of(quality: int | None, sigma: float, blocks: float, content: ContentClass) -> Damage:
    """From the file's JPEG quality where it says it (`jpeg_quality`); else from blocks (`blockiness`, read on
    photos only: line art and text sit on grids of their own) or noise (`noise_sigma`)."""
    if quality is not None:
        level = 0 if quality >= 90 else 1 if quality >= 75 else 2 if quality >= 50 else 3
    elif content == "photo" and blocks >= BLOCKY:
        level = 3 if blocks >= 1.35 else 2
    else:
        level = 0 if sigma < 2.6 else 1 if sigma < 4.5 else 2 if sigma < 9 else 3
    blocky = quality is None and content == "photo" and blocks >= BLOCKY
    return Damage(level, quality, round(sigma, 2), round(blocks, 3), blocky)


@dataclass(frozen=True)
class ContentFigures:
    """Colour and layout measurements (on a median-filtered sample, so noise and JPEG speckle count less)."""

    top_colours: float  # the share of pixels in the 8 most common colours (16 levels a channel)
    binary: float  # the share of unsaturated pixels that are dark or light: ink and paper
    ink: float  # the share of dark pixels
    rows: float  # how unevenly ink spreads over rows (std / mean): lines of text and the gaps between them
    # The share of pixels in the 8 most common colours at 64 levels a channel: a drawing's flat fills stay in
    # a few fine colours, a smooth photo (sky, fog, sand, pale wood) spreads over many (issue #30).
    fine_colours: float = 1.0

    def content(self, damage_hides_fills: bool = False) -> ContentClass:
        """`damage_hides_fills`: noise or a strong JPEG spreads even a drawing's flat fills over many fine
        colours, so only the coarse colours count."""
        if self.binary >= 0.6 and self.rows >= 1.2 and self.ink <= 0.3:
            return "text"
        # A mostly dark photo (a night sky) also has few colours at 16 levels a channel; drawings are on light
        # paper far more often than not.
        if self.top_colours < 0.57 or self.ink > 0.6:
            return "photo"
        # Few coarse colours, many fine ones: a smooth photo, which 16 levels a channel fold into a few bins.
        # On the labelled sets every drawing, JPEG q75 and up, kept at least 0.47 in 8 fine colours; smooth
        # photo crops 0.09-0.47 (bench/autopreset.py, docs/benchmarks.md).
        if not damage_hides_fills and self.fine_colours < FINE_COLOURS:
            return "photo"
        return "anime"


def content_figures(image: Image.Image) -> ContentFigures:
    sample = _viewable(image).convert("RGB")
    factor = max(1, max(sample.size) // SAMPLE_SIDE)
    if factor > 1:
        sample = sample.reduce(factor)
    rgb = np.asarray(sample.filter(ImageFilter.MedianFilter(3)), dtype=np.int32)
    coarse = rgb >> 4
    packed = coarse[..., 0] << 8 | coarse[..., 1] << 4 | coarse[..., 2]
    counts = np.sort(np.unique(packed, return_counts=True)[1])[::-1]
    fine = rgb >> 2
    fine_packed = fine[..., 0] << 12 | fine[..., 1] << 6 | fine[..., 2]
    fine_counts = np.sort(np.unique(fine_packed, return_counts=True)[1])[::-1]
    luma = rgb.mean(axis=2)
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    ink = luma < 110
    per_row = ink.mean(axis=1)
    return ContentFigures(
        top_colours=round(float(counts[:8].sum() / packed.size), 3),
        binary=round(float(((saturation < 40) & ((luma < 90) | (luma > 170))).mean()), 3),
        ink=round(float(ink.mean()), 3),
        rows=round(float(per_row.std() / (per_row.mean() + 1e-6)), 3),
        fine_colours=round(float(fine_counts[:8].sum() / fine_packed.size), 3),
    )


def analyse(data: bytes) -> Analysis:
    """Content and damage of an encoded image (any format Pillow opens)."""
    image = Image.open(io.BytesIO(data))
    figures = content_figures(image)
    luma = _luma_sample(image)
    quality, sigma, blocks = jpeg_quality(image), noise_sigma(luma), blockiness(luma)
    if quality is not None:
        hidden = quality < FINE_FROM_QUALITY
    else:  # noise, or a JPEG's blocks in a file saved again losslessly
        hidden = sigma >= FINE_BELOW_SIGMA or blocks >= FINE_BELOW_BLOCKINESS
    content = figures.content(damage_hides_fills=hidden)
    return Analysis(content, damage_of(quality, sigma, blocks, content), figures)
