"""Bring your own model: a spandrel-loadable file plus a manifest entry becomes a model in the API."""

from __future__ import annotations

import json
import shutil

import pytest

from models import registry
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit
from tests.support import png_bytes


@pytest.fixture
def operator_model(configure, models_dir, tmp_path, monkeypatch):
    own_dir = tmp_path / "own-models"
    own_dir.mkdir()
    shutil.copy(models_dir / "realesr-animevideov3.safetensors", own_dir / "my-anime.safetensors")
    entry = {"id": "my-anime", "name": "My anime model", "file": "my-anime.safetensors", "content": "anime",
             "credits": {"minimum": 3, "megapixels_per_credit": 1}}  # fmt: skip
    (own_dir / "manifest.json").write_text(json.dumps([entry]))
    monkeypatch.delitem(registry._REGISTRY, "my-anime", raising=False)
    yield configure(models_dir=str(own_dir))
    registry._REGISTRY.pop("my-anime", None)


def test_a_manifest_model_is_listed_priced_and_runs(signup, operator_model):
    user = signup()
    listed = {m["id"]: m for m in user.get("/v1/models").json()}
    assert listed["my-anime"]["content"] == "anime"
    assert listed["my-anime"]["credits"] == {"minimum": 3, "megapixels_per_credit": 1.0}
    job = submit(user, png_bytes(20, 16), model="my-anime", scale=3).json()
    assert job["credits_charged"] == 3
    run(job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    assert (done["output"]["width"], done["output"]["height"]) == (60, 48)
