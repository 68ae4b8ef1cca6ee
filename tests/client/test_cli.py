"""The command-line client against a running service: `mindrender upscale` and `mindrender account`."""

from __future__ import annotations

import json
import subprocess

import pytest
from PIL import Image

from tests import support

pytestmark = pytest.mark.slow


def run_cli(*args: str, api_url: str, api_key: str) -> subprocess.CompletedProcess[str]:
    env = support.service_env(api_url=api_url, api_key=api_key)
    return subprocess.run(
        support.mindrender(*args), env=env, cwd=support.ROOT, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def account(embedded_service, http_client_factory) -> str:
    anonymous = http_client_factory(embedded_service.url)
    response = anonymous.post("/v1/accounts", json={"email": "cli@example.com", "password": "correct horse"})
    assert response.status_code == 201
    return str(response.json()["api_key"])


def test_upscale_writes_one_image_per_file_at_the_requested_scale(embedded_service, account, tmp_path):
    photo, drawing = tmp_path / "photo.png", tmp_path / "drawing.png"
    photo.write_bytes(support.png_bytes(30, 20, seed=1))
    drawing.write_bytes(support.png_bytes(16, 16, mode="RGBA", seed=2))
    out = tmp_path / "out"

    done = run_cli(
        "upscale", str(photo), str(drawing), "--model", "bicubic", "--scale", "3", "--out", str(out),
        api_url=embedded_service.url, api_key=account,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in out.iterdir()) == ["drawing_x3.png", "photo_x3.png"]
    assert Image.open(out / "photo_x3.png").size == (90, 60)
    assert Image.open(out / "drawing_x3.png").mode == "RGBA"
    assert "photo.png: succeeded" in done.stderr

    summary = run_cli("account", api_url=embedded_service.url, api_key=account)
    assert summary.returncode == 0, summary.stderr
    assert "cli@example.com" in summary.stdout
    assert summary.stdout.count("succeeded") == 2

    # Structured logs: the API's access lines carry request ids, the worker's lines carry the job id.
    lines = [
        json.loads(line) for line in embedded_service.log.read_text().splitlines() if line.startswith("{")
    ]
    assert any(line.get("route") == "/v1/jobs" and line.get("request_id") for line in lines)
    assert any(line.get("job_id") for line in lines)
    assert not any(account in json.dumps(line) for line in lines)


def test_failures_exit_non_zero_with_a_clear_message(embedded_service, account, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("shopping list")
    out = tmp_path / "out"

    refused = run_cli(
        "upscale", str(not_an_image), "--model", "bicubic", "--scale", "2", "--out", str(out),
        api_url=embedded_service.url, api_key=account,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "unsupported_image" in refused.stderr and "1 of 1 file(s) failed" in refused.stderr
    assert list(out.iterdir()) == []

    missing = run_cli("upscale", str(tmp_path / "nope.png"), api_url=embedded_service.url, api_key=account)
    assert missing.returncode == 2 and "no such file" in missing.stderr

    bad_key = run_cli("account", api_url=embedded_service.url, api_key="mr_wrong")
    assert bad_key.returncode == 1 and "unauthorized" in bad_key.stderr
