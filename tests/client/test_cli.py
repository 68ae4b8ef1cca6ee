"""The command-line client against a running service: `mindrender upscale` and `mindrender account`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests import support
from tests.e2e.conftest import Service

pytestmark = pytest.mark.slow


def run_cli(
    *args: str, api_url: str, api_key: str, more_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**support.service_env(api_url=api_url, api_key=api_key), **(more_env or {})}
    return subprocess.run(
        support.mindrender(*args), env=env, cwd=support.ROOT, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def account(embedded_service, http_client_factory) -> str:
    anonymous = http_client_factory(embedded_service.url)
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"  # the module's tests share one service
    response = anonymous.post("/v1/accounts", json={"email": email, "password": "correct horse"})
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
    email = httpx.get(
        f"{embedded_service.url}/v1/account", headers={"Authorization": f"Bearer {account}"}
    ).json()["email"]
    assert email.startswith("cli-") and email in summary.stdout
    assert summary.stdout.count("succeeded") == 2

    # Structured logs: the API's access lines carry request ids, the worker's lines carry the job id.
    lines = support.json_log_lines(embedded_service.log)
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
    assert (
        "unsupported_image" in refused.stderr
        and "1 file: 0 done, 1 failed; 0 credits spent" in refused.stderr
    )
    assert list(out.iterdir()) == []

    missing = run_cli("upscale", str(tmp_path / "nope.png"), api_url=embedded_service.url, api_key=account)
    assert missing.returncode == 2 and "no such file" in missing.stderr

    bad_key = run_cli("account", api_url=embedded_service.url, api_key="mr_wrong")
    assert bad_key.returncode == 1 and "unauthorized" in bad_key.stderr

    nobody = f"http://127.0.0.1:{support.free_port()}"
    down = run_cli("account", api_url=nobody, api_key=account)
    assert down.returncode == 1 and f"mindrender: cannot reach the service at {nobody}: " in down.stderr
    assert "Traceback" not in down.stderr


def test_models_download_cancel_skip_existing_and_a_quiet_broken_pipe(embedded_service, account, tmp_path):
    listed = run_cli("models", api_url=embedded_service.url, api_key="")
    assert listed.returncode == 0, listed.stderr
    assert "realcugan-se" in listed.stdout and "x2: denoise 1,2,3 conservative" in listed.stdout
    assert "1 per 16 MP" in listed.stdout  # bicubic's price

    photo = tmp_path / "photo.png"
    photo.write_bytes(support.png_bytes(30, 20))
    out = tmp_path / "out"
    first = run_cli(
        "upscale", str(photo), "--model", "bicubic", "--scale", "2", "--out", str(out),
        api_url=embedded_service.url, api_key=account,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "30x20 -> 60x40, 1 credit, about 1 s" in first.stderr  # the quote, before submitting
    assert "1 file: 1 done; 1 credit spent" in first.stderr
    again = run_cli(
        "upscale", str(photo), "--model", "bicubic", "--scale", "2", "--out", str(out), "--skip-existing",
        api_url=embedded_service.url, api_key=account,
    )  # fmt: skip
    assert again.returncode == 0 and "1 skipped; 0 credits spent" in again.stderr

    listing = run_cli("account", api_url=embedded_service.url, api_key=account).stdout
    job_id = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", listing)[0]
    fetched = run_cli(
        "download", job_id, "--out", str(tmp_path), api_url=embedded_service.url, api_key=account
    )
    assert fetched.returncode == 0, fetched.stderr
    assert Image.open(tmp_path / "photo_x2.png").size == (60, 40)  # named after the upload, photo.png
    gone = run_cli("cancel", job_id, api_url=embedded_service.url, api_key=account)
    assert gone.returncode == 0 and f"job {job_id}: expired" in gone.stdout  # finished: its files deleted
    unknown = run_cli("cancel", "no-such-job", api_url=embedded_service.url, api_key=account)
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1 and "job_not_found" in unknown.stderr

    env = support.service_env(api_url=embedded_service.url)
    piped = subprocess.run(
        " ".join(support.mindrender("models")) + " | head -n 1",
        shell=True, env=env, cwd=support.ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert piped.stdout.count("\n") == 1 and "Traceback" not in piped.stderr


def _as_in_a_terminal() -> None:
    """SIGINT as a command in a terminal has it. A test run started in the background by a shell without job
    control (as CI may start it) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _job_worker_processes(service: Service) -> list[int]:
    """The service's job worker and its pool processes (not beat's maintenance worker nor other services')."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if f"MR_DATA_DIR={service.data_dir}".encode() in environ and b"gpu,cpu" in cmdline:
            pids.append(int(proc.name))
    return pids


@contextmanager
def _frozen_job_worker(service: Service) -> Iterator[None]:
    """The job worker stopped (SIGSTOP) until the block ends: no job it takes can end, on any CPU."""
    pids = _job_worker_processes(service)
    assert pids, "no job worker found"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_ctrl_c_cancels_the_running_jobs_with_a_refund(embedded_service, account, tmp_path):
    image = tmp_path / "in.png"
    image.write_bytes(support.png_bytes(64, 64))
    env = support.service_env(api_url=embedded_service.url, api_key=account)
    with _frozen_job_worker(embedded_service):  # the job is in flight when Ctrl-C comes, however fast the CPU
        process = subprocess.Popen(
            support.mindrender(
                "upscale", str(image), "--model", "realesrgan-x4plus", "--scale", "2", "--out", str(tmp_path)
            ),
            env=env, cwd=support.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_as_in_a_terminal,
        )  # fmt: skip
        user = httpx.Client(base_url=embedded_service.url, headers={"Authorization": f"Bearer {account}"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not user.get("/v1/jobs").json()["jobs"]:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "1 job canceled and refunded" in stderr
    [job] = user.get("/v1/jobs").json()["jobs"]
    assert job["status"] == "canceled" and job["credits_refunded"] == job["credits_charged"]
    user.close()


def test_the_price_before_submitting_is_the_charge_for_every_preset_the_service_offers(
    embedded_service, account, tmp_path
):
    user = httpx.Client(base_url=embedded_service.url, headers={"Authorization": f"Bearer {account}"})
    presets = [preset["id"] for preset in user.get("/v1/presets").json()]
    assert {"auto", "photo", "anime", "text", "faithful"} <= set(presets)
    image = tmp_path / "small.png"
    image.write_bytes(support.png_bytes(24, 24, seed=3))
    quoted = re.compile(
        r"small\.png: submitting, 24x24 -> 48x48, (\d+) credits?, about \d+ s \((\S+): ([^)]+)\)"
    )
    for preset in presets:
        done = run_cli(
            "upscale", str(image), "--preset", preset, "--scale", "2", "--out", str(tmp_path / preset),
            api_url=embedded_service.url, api_key=account,
        )  # fmt: skip
        assert done.returncode == 0, f"{preset}: {done.stderr}"
        [(credits, named, model)] = quoted.findall(done.stderr)
        job = user.get("/v1/jobs", params={"limit": 1}).json()["jobs"][0]
        assert (job["preset"], job["status"]) == (preset, "succeeded")
        assert named == preset and job["model"] in model.split(), (model, job)
        assert int(credits) == job["credits_charged"], f"{preset}: quoted {credits}, charged {job}"

    unknown = run_cli(
        "upscale", str(image), "--preset", "portrait", api_url=embedded_service.url, api_key=account
    )
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert f"no preset 'portrait'; the service offers {', '.join(presets)}" in unknown.stderr
    user.close()
