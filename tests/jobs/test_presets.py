"""Content presets: listed, usable instead of a model id, and refused clearly when misused."""

from __future__ import annotations

import pytest

from tests.jobs.test_submit import assert_nothing_kept
from tests.support import png_bytes


def test_presets_name_registered_models(client):
    presets = client.get("/v1/presets").json()
    models = {model["id"] for model in client.get("/v1/models").json()}
    assert {preset["id"] for preset in presets} == {"auto", "photo", "anime", "text"}
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
    assert response.json()["model"] == "realesrgan-x4plus-anime"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"preset": "landscape"}, "unknown_preset"),
        ({"preset": "photo", "model": "bicubic"}, "model_or_preset_required"),
        ({}, "model_or_preset_required"),
    ],
    ids=["unknown", "both", "neither"],
)
def test_preset_misuse_is_a_422_that_charges_nothing(signup, settings, fields, code):
    user = signup()
    response = user.post(
        "/v1/jobs", files={"file": ("in.png", png_bytes(), "image/png")}, data={"scale": "2", **fields}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert_nothing_kept(user, settings)
