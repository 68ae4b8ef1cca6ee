"""What `auto` reads an upload as: smooth photos are photos, drawings stay drawings (issue #30)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import models.imaging.analysis as analysis
from bench.ground_truth import ILLUSTRATION_DIR


def _encoded(rgb: np.ndarray, fmt: str, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, quality=quality)
    return buffer.getvalue()


def _png_of_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    return _encoded(np.asarray(Image.open(io.BytesIO(_encoded(rgb, "JPEG", quality))).convert("RGB")), "PNG")


def _overcast_sky(seed: int = 0) -> np.ndarray:
    """A smooth grey-blue sky with a faint glow and a camera's grain: a few colours at 16 levels a channel
    (as a drawing's fills), many at 64."""
    rows, columns = np.mgrid[0:256, 0:256] / 255.0
    glow = 20 * np.exp(-((rows - 0.3) ** 2 + (columns - 0.7) ** 2) / 0.1)
    base = np.stack([150 + 60 * rows + glow, 165 + 50 * rows + glow, 185 + 30 * rows + glow], axis=-1)
    grain = np.random.default_rng(seed).normal(0, 1.0, base.shape)
    return np.clip(np.rint(base + grain), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_smooth_photo_is_a_photo_though_it_has_few_coarse_colours(fmt: str, monkeypatch):
    upload = _encoded(_overcast_sky(), fmt)
    figures = analysis.analyse(upload).figures
    assert figures.top_colours >= 0.57 and figures.fine_colours < analysis.FINE_COLOURS, figures
    assert analysis.analyse(upload).content == "photo"
    monkeypatch.setattr(analysis, "FINE_COLOURS", 0.0)  # the coarse colours alone read it as a drawing
    assert analysis.analyse(upload).content == "anime"


@pytest.mark.parametrize("name", ["line-art-cat", "tiger", "anime-girl"])
def test_drawings_stay_drawings_clean_compressed_and_resaved(name: str):
    rgb = np.asarray(Image.open(ILLUSTRATION_DIR / f"{name}.png").convert("RGB"))
    for upload in (_encoded(rgb, "PNG"), _encoded(rgb, "JPEG", 80), _png_of_jpeg(rgb, 40)):
        assert analysis.analyse(upload).content == "anime", analysis.analyse(upload).figures
