"""`mindrender serve` on the embedded defaults (SQLite, filesystem broker, local disk) over real HTTP."""

from __future__ import annotations

import io
import sqlite3
import time

import pytest
from PIL import Image

from tests import support

pytestmark = pytest.mark.slow


def test_signup_upload_srcnn_and_download_on_embedded_defaults(embedded_service, http_client_factory):
    anonymous = http_client_factory(embedded_service.url)
    signup = anonymous.post("/v1/accounts", json={"email": "e2e@example.com", "password": "correct horse"})
    assert signup.status_code == 201
    user = http_client_factory(embedded_service.url, signup.json()["api_key"])
    before = user.get("/v1/account").json()["credits_balance"]

    files = {"file": ("photo.png", support.png_bytes(64, 48), "image/png")}
    job = user.post("/v1/jobs", files=files, data={"model": "srcnn", "scale": "2"}).json()
    assert job["status"] == "queued"
    done = support.wait_job(user, job["id"])
    assert done["status"] == "succeeded", done
    result = user.get(f"/v1/jobs/{job['id']}/result")
    image = Image.open(io.BytesIO(result.content))
    assert (image.format, image.size) == ("PNG", (128, 96))
    assert user.get("/v1/account").json()["credits_balance"] == before - done["credits_charged"]

    corrupt = {"file": ("broken.png", support.png_bytes(64, 48)[:-50], "image/png")}
    refused = user.post("/v1/jobs", files=corrupt, data={"model": "srcnn", "scale": "2"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "corrupt_image"
    assert user.get("/v1/account").json()["credits_balance"] == before - done["credits_charged"]


def test_prefer_wait_answers_with_the_finished_job(embedded_service, http_client_factory):
    anonymous = http_client_factory(embedded_service.url)
    body = anonymous.post("/v1/accounts", json={"email": "wait@example.com", "password": "correct horse"})
    user = http_client_factory(embedded_service.url, body.json()["api_key"])
    files = {"file": ("small.png", support.png_bytes(48, 32), "image/png")}
    response = user.post(
        "/v1/jobs", files=files, data={"model": "srcnn", "scale": "2"}, headers={"Prefer": "wait=30"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "wait=30"
    job = response.json()
    assert job["status"] == "succeeded" and job["output"]["url"]
    # A bigger job: the worker records its own speed, and its heartbeat says which queues it serves.
    files = {"file": ("big.png", support.png_bytes(400, 300), "image/png")}
    big = user.post(
        "/v1/jobs", files=files, data={"model": "bicubic", "scale": "4"}, headers={"Prefer": "wait=30"}
    )
    assert big.json()["status"] == "succeeded"
    # The worker records the speed once the job has ended, a moment after the answer may have left.
    deadline = time.monotonic() + 15
    while True:
        with sqlite3.connect(embedded_service.data_dir / "mindrender.db") as db:
            seen = db.execute("SELECT queues, device FROM workers_seen").fetchall()
            measured = db.execute("SELECT model, samples FROM model_speeds").fetchall()
        if measured or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert seen == [("cpu,gpu", "cpu")]
    assert measured == [("bicubic", 1)]
    listed = {m["id"]: m["seconds_per_output_megapixel"] for m in anonymous.get("/v1/models").json()}
    assert listed["bicubic"] < 1.0


def test_serve_on_a_taken_port_says_so_before_starting_anything(tmp_path):
    import socket
    import subprocess

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = support.service_env(data_dir=str(tmp_path / "var"))
        done = subprocess.run(
            support.mindrender("serve", "--port", str(port)),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "var" / "mindrender.db").exists()  # nothing started, nothing migrated
