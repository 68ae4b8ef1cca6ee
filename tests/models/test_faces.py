"""Faces: found offline, and kept nearer the faithful end of a detail blend by their soft mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.catalog.presets import PRESETS, detail_weight
from models.engine import upscale
from models.imaging.faces import CASCADE, faces_available, find_faces
from models.recipe import Branch, Recipe, Step, recipe_from_data, recipe_to_data, run_recipe_to_integers
from models.zoo import builtin
from tests import support


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """scikit-image's astronaut as a small upload (128 px): her face is about 24 px wide."""
    support.require_server(
        f"the frontal-face cascade ({CASCADE}; `make test` installs it)", faces_available()
    )
    from skimage import data

    small = Image.fromarray(data.astronaut()).resize((128, 128), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def test_the_face_of_a_portrait_is_found_and_nothing_in_photos_without_one(portrait):
    from skimage import data

    faces = find_faces(portrait)
    assert len(faces.boxes) == 1, faces.boxes
    x, y, w, h = faces.boxes[0]
    assert 40 <= x + w / 2 <= 62 and 20 <= y + h / 2 <= 40 and 18 <= w <= 32  # her face, at this size
    assert faces.mask[y + h // 2, x + w // 2] == 1.0 and faces.mask[120, 5] == 0.0
    edge = faces.mask[y + h // 2, : x + w // 2]
    assert ((edge > 0) & (edge < 1)).sum() >= 3  # a soft edge, not a cut
    for name in ("coffee", "chelsea", "rocket"):  # a cup, a cat, a launch pad
        image = np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0
        assert find_faces(image).boxes == (), name


def test_faces_take_the_faces_share_of_a_blend_and_the_rest_its_weight(portrait, models_dir: Path):
    """Two classical ends, so the expected image is exact: over the face's middle the detailed end has the
    recipe's `faces` share, far from it the branch's weight."""
    recipe = Recipe((Branch(0.3, (Step("nearest"),)), Branch(0.7, (Step("bicubic"),))), faces=0.2)
    out = run_recipe_to_integers(portrait, recipe, 2, builtin, models_dir, lambda _: None, 8).astype(float)
    faithful, detailed = (
        upscale(portrait, builtin(m), 2, models_dir, lambda _: None) for m in ("nearest", "bicubic")
    )
    x, y, w, h = find_faces(portrait).boxes[0]
    middle = (
        slice(2 * (y + h // 2) - 2, 2 * (y + h // 2) + 2),
        slice(2 * (x + w // 2) - 2, 2 * (x + w // 2) + 2),
    )
    on_face = np.rint((0.8 * faithful + 0.2 * detailed) * 255)[middle]
    assert np.abs(out[middle] - on_face).max() <= 1
    away = np.rint((0.3 * faithful + 0.7 * detailed) * 255)[200:, :40]
    assert np.abs(out[200:, :40] - away).max() <= 1
    as_the_rest = Recipe(recipe.branches)
    plain = run_recipe_to_integers(portrait, as_the_rest, 2, builtin, models_dir, lambda _: None, 8)
    assert np.array_equal(plain[200:, :40], out[200:, :40].astype(np.uint8))


def test_the_photo_preset_calms_faces_only_above_its_face_detail_and_when_both_ends_run():
    photo = PRESETS["photo"]
    assert photo.face_detail is not None
    calm = detail_weight(photo.face_detail, photo.detail_floor)
    assert photo.recipe(0, None).faces == pytest.approx(calm)  # the default
    assert photo.recipe(2, 90).faces == pytest.approx(calm)
    assert photo.recipe(0, photo.face_detail).faces is None  # no higher than the faces' own
    assert photo.recipe(0, 100).faces is None  # the detailed end alone: what 100 asks for, everywhere
    assert PRESETS["anime"].recipe(0, None).faces is None
    recipe = photo.recipe(1, None, text=True)
    data = recipe_to_data(recipe)
    assert data["faces"] == pytest.approx(calm) and recipe_to_data(recipe_from_data(data)) == data
    assert "on faces" in recipe.describe()


def test_a_faces_share_needs_two_branches_and_less_than_the_detailed_weight():
    for branches, faces in (
        ((Branch(1.0, (Step("bicubic"),)),), 0.2),
        ((Branch(0.5, (Step("nearest"),)), Branch(0.5, (Step("bicubic"),))), 0.6),
    ):
        with pytest.raises(ValueError):
            Recipe(branches, faces=faces)
