"""The low band: a blend's detailed end adds only detail finer than the input's pixels, over the faithful
end's colour and shading (models/recipe.py `low_band`; app/catalog/presets.py `LOW_BAND`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage import data

import models.imaging.bands
from app.catalog.presets import LOW_BAND, PRESETS
from models.engine import upscale
from models.recipe import Branch, Recipe, Step, recipe_from_data, recipe_to_data, run_recipe_to_integers
from models.zoo import builtin


def noop(_fraction: float) -> None:
    return None


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """An independent Gaussian (scipy's, cut at 3 sigma, edges repeated), channel by channel."""
    channels = [gaussian_filter(image[:, :, c], sigma, mode="nearest", truncate=3.0) for c in range(3)]
    return np.stack(channels, axis=2)


def test_the_later_branch_brings_only_what_is_finer_than_the_low_band(models_dir: Path):
    """Two classical ends, so the expected image is exact: the first branch written whole, then the second
    plus the blur of (first - second), mixed by the weights."""
    image = np.asarray(
        Image.fromarray(data.astronaut()).resize((48, 40), Image.Resampling.BOX), np.float32
    ) / np.float32(255)
    recipe = Recipe((Branch(0.3, (Step("nearest"),)), Branch(0.7, (Step("bicubic"),))), low_band=1.5)
    out = run_recipe_to_integers(image, recipe, 2, builtin, models_dir, noop, 8).astype(np.float64)
    first = np.rint(upscale(image, builtin("nearest"), 2, models_dir, noop) * 255) / 255
    second = upscale(image, builtin("bicubic"), 2, models_dir, noop)
    finer = np.clip(second + _blur(first - second, 1.5 * 2), 0, 1)
    expected = np.rint(0.7 * 255 * finer + 0.3 * 255 * first)
    assert np.abs(out - expected).max() <= 1
    plain = run_recipe_to_integers(image, Recipe(recipe.branches), 2, builtin, models_dir, noop, 8)
    assert np.abs(plain - expected).max() > 4  # without the low band it is another image


def test_the_photo_preset_keeps_a_sky_s_colour_where_its_detail_model_drifts(models_dir: Path):
    """RealSR, the photo preset's detailed end, shifts a smooth sky's colour by a level or two; over the
    faithful end's low band the colour is the original's, and the sky several dB closer to it."""
    crop = data.rocket()[0:96, 200:296]  # the sky above the launch pad
    truth = crop.astype(np.float32) / 255
    small = np.asarray(Image.fromarray(crop).resize((24, 24), Image.Resampling.BOX), np.float32) / 255
    recipe = PRESETS["photo"].recipe(0, 100)
    alone = Recipe((recipe.branches[1],))
    results = {}
    for name, each in (("low band", recipe), ("alone", alone)):
        error = run_recipe_to_integers(small, each, 4, builtin, models_dir, noop, 8) / 255 - truth
        drift = np.abs(error.mean(axis=(0, 1))).max() * 255
        results[name] = (drift, -10 * np.log10(np.mean(error**2)))
    assert results["low band"][0] < 0.5 and results["alone"][0] > 1.0, results
    assert results["low band"][1] > results["alone"][1] + 2.0, results


def test_the_photo_preset_blends_over_the_faithful_end_s_low_band_at_every_detail_above_0():
    photo = PRESETS["photo"]
    for detail in (0, 50, 70, 99):
        recipe = photo.recipe(2, detail)
        assert len(recipe.branches) == 2 and recipe.low_band == LOW_BAND, detail
    everywhere = photo.recipe(0, 100)
    assert [b.weight for b in everywhere.branches] == [0.0, 1.0] and everywhere.low_band == LOW_BAND
    assert everywhere.faces is None  # 100 asks for the detailed end everywhere, faces too
    assert "colour and shading from faithful" in everywhere.describe()
    assert "faithful 0 %" not in everywhere.describe()
    assert PRESETS["anime"].recipe(0, None).low_band is None
    data_ = recipe_to_data(photo.recipe(1, None, text=True))
    assert data_["low_band"] == LOW_BAND and recipe_to_data(recipe_from_data(data_)) == data_


@pytest.mark.parametrize(
    "branches,low_band",
    [
        ((Branch(1.0, (Step("bicubic"),)),), 1.0),  # one branch: nothing to take a low band from
        ((Branch(0.5, (Step("nearest"),)), Branch(0.5, (Step("bicubic"),))), 0.0),
        ((Branch(0.0, (Step("nearest"),)), Branch(1.0, (Step("bicubic"),))), None),  # weighs 0 for nothing
        ((Branch(1.0, (Step("nearest"),)), Branch(0.0, (Step("bicubic"),))), 1.0),  # only the first may
    ],
)
def test_a_low_band_needs_two_branches_and_only_it_lets_the_first_weigh_nothing(branches, low_band):
    with pytest.raises(ValueError):
        Recipe(branches, low_band=low_band)


def test_many_small_bands_give_the_one_band_result_with_faces_and_a_low_band(models_dir: Path, monkeypatch):
    """The low band's blur reads rows ahead, and bands away from a face skip its mask: streamed in bands
    of a few rows, a portrait comes out as in one band, to the level."""
    image = np.asarray(
        Image.fromarray(data.astronaut()).resize((128, 128), Image.Resampling.BOX), np.float32
    ) / np.float32(255)
    recipe = Recipe(
        (Branch(0.3, (Step("nearest"),)), Branch(0.7, (Step("bicubic"),))), faces=0.2, low_band=1.0
    )
    one = run_recipe_to_integers(image, recipe, 4, builtin, models_dir, noop, 8)
    monkeypatch.setattr(models.imaging.bands, "_BAND_BYTES", 20_000)  # 16-row bands
    assert np.array_equal(run_recipe_to_integers(image, recipe, 4, builtin, models_dir, noop, 8), one)
