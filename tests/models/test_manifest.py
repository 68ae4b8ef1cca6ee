"""Bring your own model: a spandrel-loadable file plus a manifest entry becomes a model in the API."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from models.install import describe_manifest_models
from models.registry import load_registry
from models.spec import DuplicateModel
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit
from tests.support import png_bytes

ENTRY = {"id": "my-anime", "name": "My anime model", "file": "my-anime.safetensors", "content": "anime",
         "native_scale": 2, "credits": {"minimum": 3, "megapixels_per_credit": 1}}  # fmt: skip


@pytest.fixture
def own_dir(models_dir, tmp_path):
    folder = tmp_path / "own-models"
    folder.mkdir()
    shutil.copy(models_dir / "realesr-animevideov3.safetensors", folder / "my-anime.safetensors")
    (folder / "manifest.json").write_text(json.dumps([ENTRY]))
    return folder


def test_a_manifest_model_is_described_listed_priced_and_runs(configure, signup, own_dir):
    assert describe_manifest_models(own_dir) == ["my-anime.safetensors"]  # what `models install` does
    configure(models_dir=str(own_dir))
    user = signup()
    listed = {m["id"]: m for m in user.get("/v1/models").json()}
    assert listed["my-anime"]["content"] == "anime"
    assert listed["my-anime"]["available"] is True
    # The native scale is the file's (spandrel's descriptor), not what the manifest claims.
    assert listed["my-anime"]["native_scale"] == 4
    credits = listed["my-anime"]["credits"]
    assert (credits["minimum"], credits["megapixels_per_credit"]) == (3, 1.0)
    job = submit(user, png_bytes(20, 16), model="my-anime", scale=3).json()
    assert job["credits_charged"] == 3
    run(job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    assert (done["output"]["width"], done["output"]["height"]) == (60, 48)


def test_an_undescribed_or_replaced_file_is_unavailable_until_installed(configure, signup, own_dir):
    configure(models_dir=str(own_dir))
    user = signup()
    assert {m["id"]: m["available"] for m in user.get("/v1/models").json()}["my-anime"] is False
    refused = submit(user, png_bytes(20, 16), model="my-anime", scale=2)
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "model_unavailable"
    describe_manifest_models(own_dir)
    assert load_registry(own_dir).get("my-anime").described is True
    os.utime(own_dir / "my-anime.safetensors", ns=(1, 1))  # another file in its place: described again
    assert load_registry(own_dir).get("my-anime").described is False


def test_a_manifest_id_clashing_with_a_built_in_fails_at_start_up(own_dir):
    (own_dir / "manifest.json").write_text(json.dumps([{**ENTRY, "id": "realcugan-se"}]))
    with pytest.raises(DuplicateModel):
        load_registry(own_dir)
