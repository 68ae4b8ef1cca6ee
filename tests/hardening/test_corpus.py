"""The hostile-input corpus through the real API and worker code: a clear 4xx, or a correct result."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.jobs.processing import run_job
from tests.hardening.corpus import CASES, Case
from tests.support import current_runtime


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_input_is_refused_clearly_or_upscaled_correctly(case: Case, signup, settings):
    user = signup()
    files = {"file": (case.filename, case.make(), case.content_type)}
    response = user.post("/v1/jobs", files=files, data={"model": "bicubic", "scale": "2"})
    assert response.status_code == case.status, response.text
    if case.code is not None:
        error = response.json()["error"]
        assert error["code"] == case.code and len(error["message"]) > 10
        assert user.get("/v1/account").json()["credits_balance"] == 10
        assert user.get("/v1/jobs").json()["jobs"] == []
        assert list(current_runtime().storage.keys()) == []
        return
    job = response.json()
    run_job(current_runtime(), job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    result = user.get(f"/v1/jobs/{job['id']}/result", follow_redirects=True)
    assert result.status_code == 200
    assert result.headers["x-content-type-options"] == "nosniff"
    assert result.headers["content-disposition"].startswith("attachment")
    image = Image.open(io.BytesIO(result.content))
    assert image.size == case.size
    assert b"<html" not in result.content
    assert len(result.content) < 1_000_000  # nothing huge carried over from the input's metadata
    assert user.get("/v1/account").json()["credits_balance"] == 10 - done["credits_charged"]
