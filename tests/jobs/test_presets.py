"""Presets: listed, usable instead of a model id, and refused clearly when misused."""

from __future__ import annotations

import io
from typing import get_args

import numpy as np
import pytest
from PIL import Image
from skimage import data

from app.catalog.presets import PRESETS
from models.engine import upscale
from models.imaging.analysis import ContentClass
from models.imaging.resample import Filter, resize
from models.zoo import builtin
from tests.catalog.test_auto_preset import runs
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import assert_nothing_kept, balance
from tests.support import png_bytes


def test_presets_name_registered_models(client):
    presets = client.get("/v1/presets").json()
    models = {model["id"] for model in client.get("/v1/models").json()}
    assert {preset["id"] for preset in presets} == {"auto", "photo", "anime", "text", "faithful"}
    for preset in presets:
        assert preset["description"]
        picked = {pick.split()[0] for pick in preset["picks"]}
        assert preset["id"] == "auto" or (preset["model"] in models and picked <= models)


def test_a_preset_runs_its_model(signup, settings):
    user = signup()
    response = user.post(
        "/v1/jobs",
        files={"file": ("in.png", png_bytes(), "image/png")},
        data={"preset": "anime", "scale": "2"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["model"] == "waifu2x-cunet"


def test_faithful_is_listed_with_its_sentence_and_auto_never_picks_it(client):
    faithful = next(p for p in client.get("/v1/presets").json() if p["id"] == "faithful")
    assert faithful["model"] == "faithful" and faithful["picks"] == ["faithful"] * 4
    assert "No invented detail" in faithful["description"] and "evidence" in faithful["description"]
    # `auto` picks the preset named after the content it reads, and no content is called faithful.
    assert "faithful" not in get_args(ContentClass)
    model = next(m for m in client.get("/v1/models").json() if m["id"] == "faithful")
    assert model["native_scales"] == [2, 3, 4] and model["scales"] == [2, 3, 4, 8]
    assert model["options"][3]["native_scale"] == 4  # x8: the x4 pass, then Lanczos
    assert model["available"] and "No invented detail" in model["description"]


def test_preset_faithful_at_x4_runs_the_faithful_model_and_is_charged(signup, settings, models_dir):
    face = data.astronaut()[40:64, 160:192]  # a held-out photo: the faithful model never trained on it
    buffer = io.BytesIO()
    Image.fromarray(face).save(buffer, "PNG")
    user = signup()
    response = user.post(
        "/v1/jobs",
        files={"file": ("face.png", buffer.getvalue(), "image/png")},
        data={"preset": "faithful", "scale": "4"},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["model"], job["preset"], job["scale"]) == ("faithful", "faithful", 4)
    assert job["credits_charged"] == 1  # SRCNN's terms: 1 credit per started 4 MP, 0.012 MP here
    assert balance(user) == 10 - 1
    run(job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    assert (done["output"]["width"], done["output"]["height"]) == (128, 96)
    result = np.asarray(Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content)), np.int16)

    rgb = face.astype(np.float32) / 255
    expected = np.rint(upscale(rgb, builtin("faithful"), 4, models_dir, lambda _: None) * 255)
    assert np.abs(result - expected).max() <= 1  # the faithful network's image, to within rounding
    bicubic = np.rint(np.clip(resize(rgb, 128, 96, Filter.BICUBIC), 0, 1) * 255)
    assert np.abs(result - bicubic).max() >= 3  # and not plain bicubic
    assert balance(user) == 10 - 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"preset": "landscape"}, "unknown_preset"),
        ({"preset": "photo", "model": "bicubic"}, "model_or_preset_required"),
        ({}, "model_or_preset_required"),
        ({"preset": "photo", "conservative": "true"}, "unsupported_option"),  # was dropped without a word
    ],
    ids=["unknown", "both", "neither", "conservative"],
)
def test_preset_misuse_is_a_422_that_charges_nothing(signup, settings, fields, code):
    user = signup()
    response = user.post(
        "/v1/jobs", files={"file": ("in.png", png_bytes(), "image/png")}, data={"scale": "2", **fields}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert_nothing_kept(user, settings)


def test_every_pick_has_weights_at_every_scale():
    """A preset runs one pick whatever the scale: each must have weights at x2, x3, x4 and x8 (the anime
    preset's realcugan-se denoise 1 and 2 exist at x2 only, so x3/x4/x8 jobs were refused with a 422)."""
    for preset in PRESETS.values():
        for pick in (*preset.picks, *(preset.detail_picks or ()), preset.video_pick):
            for scale in (2, 3, 4, 8):
                for step in pick.steps():
                    builtin(step.model).weights_for(step.scale_at(scale), step.options)


def test_a_denoise_hint_is_named_only_where_the_preset_acts_on_it(signup, settings):
    user = signup()

    def submitted(preset: str) -> dict:
        response = user.post(
            "/v1/jobs",
            files={"file": ("in.png", png_bytes(), "image/png")},
            data={"preset": preset, "scale": "2", "denoise": "3"},
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    photo, faithful = submitted("photo"), submitted("faithful")
    detail = PRESETS["photo"].default_detail
    on_faces = f" ({PRESETS['photo'].face_detail} on faces)"
    assert photo["reason"] == f"preset photo for damage level 3, detail {detail}{on_faces}"
    assert photo["recipe"] == runs("photo", 3) and photo["detail"] == detail
    assert (faithful["reason"], faithful["model"]) == ("preset faithful", "faithful")
    assert faithful["denoise"] is None
