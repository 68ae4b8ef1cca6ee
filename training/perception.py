"""Perception scores next to distortion: NIQE, PIQE and the text's character error rate under OCR.

PSNR rewards blur, so a preset chosen by PSNR alone looks like a resize. These no-reference scores say how
natural a result looks (lower is better for both):

- NIQE (Mittal, Soundararajan and Bovik, "Making a completely blind image quality analyzer", 2013): the
  distance between a Gaussian fitted to the image's patch statistics and one fitted to pristine photos.
  The pristine model is the authors' (mean and covariance of 36 features), as shipped in basicsr 1.4.2
  (`basicsr/metrics/niqe_pris_params.npz`, Apache-2.0), committed as bench/data/niqe_pris_params.npz; the
  computation is ours, from the paper: luma, MSCN coefficients, 96-px blocks at two scales, a generalised
  Gaussian fit per block. It is unreliable on one small crop, so the benches score mosaics of crops.
- PIQE (Venkatanath et al., 2015), from the `pypiqe` package: blockiness and noise in active 16-px blocks.
- Text: Tesseract (Debian's `tesseract-ocr`) reads the original and the result; the character error rate is
  the edit distance between the two readings over the original's length. A model that invents or loses
  letters scores high, whatever its PSNR.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

NIQE_PARAMS = Path(__file__).resolve().parent.parent / "bench" / "data" / "niqe_pris_params.npz"
# The paper's block: 96 px at full scale, 48 px at half scale. An image smaller than one block has no score.
NIQE_BLOCK = 96
# The shape parameters the generalised Gaussian fit searches, as in the authors' code.
_SHAPES = np.arange(0.2, 10.001, 0.001)
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def luma_255(rgb: np.ndarray) -> np.ndarray:
    """The studio-range BT.601 luma (16-235) of a float RGB image in [0, 1], rounded as 8-bit files hold it:
    the channel NIQE was defined on."""
    rgb64 = np.clip(rgb.astype(np.float64), 0.0, 1.0)
    y: np.ndarray = np.round(16.0 + rgb64 @ np.array([65.481, 128.553, 24.966]))
    return y


@cache
def _pristine() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(NIQE_PARAMS) as params:
        return (
            params["mu_pris_param"].reshape(-1),
            params["cov_pris_param"],
            params["gaussian_window"],
        )


def _filter_replicate(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Correlate with a small odd window, edges replicated (MATLAB's imfilter 'replicate')."""
    half = window.shape[0] // 2
    padded = np.pad(image, half, mode="edge")
    out = np.zeros_like(image)
    rows, cols = image.shape
    for dy in range(window.shape[0]):
        for dx in range(window.shape[1]):
            out += window[dy, dx] * padded[dy : dy + rows, dx : dx + cols]
    return out


def _mscn(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients: what natural images keep Gaussian-like."""
    mu = _filter_replicate(image, window)
    sigma = np.sqrt(np.abs(_filter_replicate(image * image, window) - mu * mu))
    coefficients: np.ndarray = (image - mu) / (sigma + 1.0)
    return coefficients


@cache
def _ratio_table() -> np.ndarray:
    gamma = np.vectorize(math.gamma)
    return np.asarray(gamma(2 / _SHAPES) ** 2 / (gamma(1 / _SHAPES) * gamma(3 / _SHAPES)))


def _aggd(values: np.ndarray) -> tuple[float, float, float]:
    """Fit an asymmetric generalised Gaussian by moment matching: shape, left scale, right scale."""
    left, right = values[values < 0], values[values > 0]
    left_std = math.sqrt(float(np.mean(left**2))) if left.size else 0.0
    right_std = math.sqrt(float(np.mean(right**2))) if right.size else 0.0
    if left_std == 0.0 or right_std == 0.0:
        return math.nan, math.nan, math.nan
    asymmetry = left_std / right_std
    ratio = float(np.mean(np.abs(values))) ** 2 / float(np.mean(values**2))
    normalised = ratio * (asymmetry**3 + 1) * (asymmetry + 1) / (asymmetry**2 + 1) ** 2
    shape = float(_SHAPES[np.argmin((_ratio_table() - normalised) ** 2)])
    spread = math.sqrt(math.gamma(1 / shape) / math.gamma(3 / shape))
    return shape, left_std * spread, right_std * spread


def _block_features(block: np.ndarray) -> list[float]:
    """The 18 features of one block: the MSCN fit, then the fits of its four neighbour products."""
    shape, left, right = _aggd(block.reshape(-1))
    features = [shape, (left + right) / 2]
    for shift in _SHIFTS:
        pair = block * np.roll(block, shift, axis=(0, 1))
        shape, left, right = _aggd(pair.reshape(-1))
        mean = (
            math.nan if math.isnan(shape) else (right - left) * math.gamma(2 / shape) / math.gamma(1 / shape)
        )
        features += [shape, mean, left, right]
    return features


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return np.where(
        ax <= 1,
        1.5 * ax**3 - 2.5 * ax**2 + 1,
        np.where(ax <= 2, -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2, 0.0),
    )


def _halve_matrix(size: int) -> np.ndarray:
    """MATLAB's imresize(0.5) along one axis: an antialiased cubic, its kernel stretched by 2, edges
    mirrored."""
    out = size // 2
    centres = (np.arange(out) + 0.5) * 2 - 0.5
    taps = np.arange(-4, 5)
    matrix = np.zeros((out, size))
    for row, centre in enumerate(centres):
        sources = np.floor(centre).astype(int) + taps
        weights = _cubic((centre - sources) / 2) / 2
        mirrored = np.where(
            sources < 0, -sources - 1, np.where(sources >= size, 2 * size - sources - 1, sources)
        )
        np.add.at(matrix[row], mirrored, weights / weights.sum())
    return matrix


def _halve(image: np.ndarray) -> np.ndarray:
    rows, cols = image.shape
    halved: np.ndarray = _halve_matrix(rows) @ image @ _halve_matrix(cols).T
    return halved


def niqe(rgb: np.ndarray) -> float:
    """NIQE of a float RGB image in [0, 1] (lower looks more natural): at least 96x96 pixels, better a
    mosaic of several hundred thousand."""
    mu_pristine, cov_pristine, window = _pristine()
    image = luma_255(rgb)
    rows, cols = (image.shape[0] // NIQE_BLOCK) * NIQE_BLOCK, (image.shape[1] // NIQE_BLOCK) * NIQE_BLOCK
    if rows == 0 or cols == 0:
        raise ValueError(f"NIQE needs at least {NIQE_BLOCK}x{NIQE_BLOCK} pixels, got {image.shape[:2]}")
    image = image[:rows, :cols]
    per_scale = []
    for scale in (1, 2):
        block = NIQE_BLOCK // scale
        coefficients = _mscn(image, window)
        per_scale.append(
            [
                _block_features(coefficients[y : y + block, x : x + block])
                for y in range(0, image.shape[0] - block + 1, block)
                for x in range(0, image.shape[1] - block + 1, block)
            ]
        )
        image = _halve(image)
    features = np.hstack([np.asarray(blocks, dtype=np.float64) for blocks in per_scale])
    complete = features[~np.isnan(features).any(axis=1)]
    if len(complete) < 2:
        raise ValueError("NIQE found fewer than two blocks with texture: the image is flat")
    # As the authors' nanmean and nancov: a flat block's undefined fits leave out only its own features.
    mu = np.nanmean(features, axis=0)
    cov = np.cov(complete, rowvar=False)
    difference = mu_pristine - mu
    return float(math.sqrt(difference @ np.linalg.pinv((cov_pristine + cov) / 2) @ difference))


def piqe(rgb: np.ndarray) -> float:
    """PIQE of a float RGB image in [0, 1], from 0 (excellent) to 100 (bad)."""
    from pypiqe import piqe as pypiqe_score

    gray = np.round(np.clip(rgb, 0.0, 1.0) @ np.array([0.299, 0.587, 0.114]) * 255.0).astype(np.uint8)
    score, *_ = pypiqe_score(gray)
    return float(score)


def mosaic(images: list[np.ndarray], columns: int) -> np.ndarray:
    """Crops of one size laid out in rows: what NIQE is computed on (one crop is too few blocks)."""
    height, width = images[0].shape[:2]
    rows = math.ceil(len(images) / columns)
    sheet = np.zeros((rows * height, columns * width, 3), dtype=np.float32)
    for index, image in enumerate(images):
        y, x = divmod(index, columns)
        sheet[y * height : (y + 1) * height, x * width : (x + 1) * width] = image[:, :, :3]
    return sheet[: rows * height, : min(columns, len(images)) * width]


def tesseract_available() -> bool:
    """Whether Debian's `tesseract-ocr` is installed (the text benches and tests need it)."""
    return shutil.which("tesseract") is not None


def ocr(rgb: np.ndarray) -> str:
    """What Tesseract reads in an image, its whitespace collapsed to single spaces."""
    from PIL import Image

    pixels = np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.png"
        Image.fromarray(pixels).save(path)
        run = subprocess.run(
            ["tesseract", str(path), "stdout", "--psm", "6"],
            capture_output=True,
            text=True,
            check=True,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
        )
    return " ".join(run.stdout.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions to turn `a` into `b`."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class TextReading:
    """How a result reads against its reference: both readings and the character error rate."""

    reference: str
    result: str

    @property
    def cer(self) -> float:
        """Edits per reference character (0 reads the same; above 1 is possible for invented text)."""
        return edit_distance(self.reference, self.result) / max(len(self.reference), 1)


def read_against(reference: str, result_rgb: np.ndarray) -> TextReading:
    """OCR a result and compare it with a reference reading (the original's, or the words drawn)."""
    return TextReading(reference, ocr(result_rgb))
