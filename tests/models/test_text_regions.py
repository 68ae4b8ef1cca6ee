"""Text regions (models/imaging/text_regions.py): found on drawn pages at the sizes that break detail
models, not on held-out photos; and a recipe's text step runs there and only there."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from bench.perception_text import PAGE_FONT, text_page
from models.imaging.text_regions import find_text
from models.recipe import Branch, Recipe, Step, run_recipe_to_integers
from models.zoo import builtin


def _upload(rgb: np.ndarray, shrink: int) -> np.ndarray:
    """As the web makes uploads: area shrink, JPEG q90."""
    image = Image.fromarray(np.rint(rgb * 255).astype(np.uint8))
    small = image.resize((image.width // shrink, image.height // shrink), Image.Resampling.BOX)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=90)
    return np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255


@pytest.mark.skipif(not PAGE_FONT.is_file(), reason="DejaVu fonts (`make fonts`)")
@pytest.mark.parametrize(("size", "shrink"), [(28, 4), (36, 2), (44, 1)])
def test_text_on_a_drawn_page_is_found(size, shrink):
    """Recall: the share of the page's ink under the mask (7 to 44 px type)."""
    page = text_page(size)
    upload = _upload(page, shrink)
    ink = (page.mean(axis=2) < 0.5)[::shrink, ::shrink][: upload.shape[0], : upload.shape[1]]
    regions = find_text(upload)
    assert regions.box is not None
    assert float(np.mean(regions.mask[ink] >= 0.5)) >= 0.85


@pytest.mark.parametrize(("name", "most"), [("coffee", 0.0), ("chelsea", 0.0), ("astronaut", 0.05)])
def test_held_out_photos_are_hardly_marked(name, most):
    """No text on a cup or a cat; on the astronaut, a few blocks of her suit's patches and flag."""
    rgb = np.asarray(getattr(data, name)(), np.float32) / 255
    assert float(find_text(rgb).mask.mean()) <= most


@pytest.mark.skipif(not PAGE_FONT.is_file(), reason="DejaVu fonts (`make fonts`)")
def test_the_text_step_runs_on_the_text_and_nowhere_else(models_dir: Path):
    page = text_page(28)
    photo = np.asarray(Image.fromarray(data.chelsea()).resize((page.shape[0],) * 2), np.float32) / 255
    upload = _upload(np.concatenate([page, photo], axis=1), 4)
    base = Recipe((Branch(1.0, (Step("bicubic"),)),))
    guarded = Recipe(base.branches, Step("nearest"))
    plain = run_recipe_to_integers(upload, base, 2, builtin, models_dir, lambda _: None, 8).astype(int)
    kept = run_recipe_to_integers(upload, guarded, 2, builtin, models_dir, lambda _: None, 8).astype(int)
    nearest = np.repeat(np.repeat(np.rint(upload * 255), 2, axis=0), 2, axis=1).astype(int)
    regions = find_text(upload)
    inside = np.repeat(np.repeat(regions.mask >= 0.999, 2, axis=0), 2, axis=1)
    outside = np.repeat(np.repeat(regions.mask <= 0.0, 2, axis=0), 2, axis=1)
    assert inside.any() and outside.any()
    assert np.abs(kept - nearest)[inside].max() <= 1  # the text step's pixels where the mask is 1
    assert np.abs(kept - plain)[outside].max() == 0  # the recipe's own pixels where it is 0
