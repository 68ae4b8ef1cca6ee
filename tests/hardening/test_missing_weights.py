"""Missing model weights: installed at start, or the model is unavailable before anything is charged.

Before: with MR_DATA_DIR elsewhere, neural jobs were accepted, charged, then failed as `input_missing`
("The uploaded image was no longer stored") while /readyz said ready and /v1/models listed the model.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.jobs.processing import run_job
from app.main import create_app
from tests import support
from tests.e2e.conftest import embedded

COMPACT = "realesr-animevideov3"


def _submit(user: TestClient, model: str):
    files = {"file": ("in.png", support.png_bytes(16, 16), "image/png")}
    return user.post("/v1/jobs", files=files, data={"model": model, "scale": "2"})


def test_without_weights_a_model_is_unavailable_and_nothing_is_charged(configure, signup, tmp_path):
    configure(models_dir=str(tmp_path / "empty-models"))
    user = signup()
    listed = {m["id"]: m["available"] for m in user.get("/v1/models").json()}
    assert listed[COMPACT] is False and listed["bicubic"] is True
    refused = _submit(user, COMPACT)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "model_unavailable"
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert user.get("/v1/jobs").json()["jobs"] == []
    assert _submit(user, "bicubic").status_code == 202
    with TestClient(create_app(get_settings())) as anonymous:
        ready = anonymous.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["models"].startswith("missing weights:")
    assert COMPACT in ready.json()["checks"]["models"]


def test_weights_gone_from_a_worker_fail_the_job_as_model_unavailable(
    configure, signup, tmp_path, models_dir
):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(models_dir / f"{COMPACT}.safetensors", folder)
    configure(models_dir=str(folder))
    user = signup()
    job = _submit(user, COMPACT).json()
    (folder / f"{COMPACT}.safetensors").unlink()
    run_job(support.current_runtime(), job["id"])
    failed = user.get(f"/v1/jobs/{job['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "model_unavailable"
    assert failed["credits_refunded"] == failed["credits_charged"]


@pytest.mark.slow
def test_serve_on_a_new_data_folder_installs_the_weights_and_runs_neural_jobs(tmp_path, http_client_factory):
    with embedded(tmp_path) as service:
        anonymous = http_client_factory(service.url)
        assert all(m["available"] for m in anonymous.get("/v1/models").json())
        body = anonymous.post("/v1/accounts", json={"email": "w@example.com", "password": "correct horse"})
        user = http_client_factory(service.url, body.json()["api_key"])
        files = {"file": ("in.png", support.png_bytes(16, 16), "image/png")}
        job = user.post("/v1/jobs", files=files, data={"model": COMPACT, "scale": "2"}).json()
        assert support.wait_job(user, job["id"])["status"] == "succeeded"
        assert anonymous.get("/readyz").json()["checks"]["models"] == "ok"
