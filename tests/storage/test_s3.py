"""S3 storage against a real S3-compatible server over HTTP (moto's standalone server on loopback)."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path

import boto3
import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from app.client.api import ApiClient
from app.client.commands import Upscale, _stored_or_sent, _submit
from app.config import get_settings
from app.db import utcnow
from app.jobs.models import Upload
from app.jobs.retention import sweep_uploads
from app.storage.base import CHUNK_BYTES
from app.sweeper import sweep
from app.web.endpoints import _content_security_policy
from tests import support
from tests.client.test_cli import run_cli
from tests.hardening.invariants import INPUT_RELEASE_SECONDS
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit

AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    port = support.free_port()
    moto = str(Path(sys.executable).parent / "moto_server")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = support.start_process([moto, "-H", "127.0.0.1", "-p", str(port)], support.service_env(), log)
    url = f"http://127.0.0.1:{port}"
    try:
        support.wait_http(f"{url}/moto-api/", process=process, log=log)
        yield url
    finally:
        support.stop_process(process)


def _bucket_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


@pytest.fixture
def bucket(s3_server, monkeypatch):
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    name = f"mr-{uuid.uuid4().hex[:12]}"
    _bucket_client(s3_server).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_settings(configure, s3_server, bucket):
    return configure(storage_url=f"s3://{bucket}/jobs", s3_endpoint_url=s3_server)


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    listing = _bucket_client(endpoint).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_store_read_list_delete(s3_settings, s3_server, bucket):
    storage = support.current_runtime().storage
    storage.put("inputs/a", b"hello", "application/octet-stream")
    assert storage.get("inputs/a") == b"hello"
    assert storage.exists("inputs/a") and not storage.exists("inputs/b")
    assert list(storage.keys()) == ["inputs/a"]
    assert bucket_keys(s3_server, bucket) == ["jobs/inputs/a"]
    with pytest.raises(FileNotFoundError):
        storage.get("inputs/b")
    storage.delete("inputs/a")
    assert bucket_keys(s3_server, bucket) == []


def test_presigned_download_is_short_lived(s3_settings):
    storage = support.current_runtime().storage
    storage.put("results/x.png", b"png bytes", "image/png")
    url = storage.presigned_url("results/x.png", 1, "x.png", "image/png")
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"png bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="x.png"'
    # moto's server does not enforce signature expiry, so check the signed lifetime itself.
    assert "X-Amz-Expires=1&" in url and "X-Amz-Signature=" in url


def test_objects_are_read_in_ranges_and_chunks(s3_settings):
    storage = support.current_runtime().storage
    data = bytes(range(256)) * (3 * CHUNK_BYTES // 256) + b"tail"
    storage.put("results/clip.mp4", data, "video/mp4")
    info = storage.stat("results/clip.mp4")
    assert info.size == len(data) and info.etag.startswith('"')
    chunks = list(storage.read_chunks("results/clip.mp4"))
    assert b"".join(chunks) == data and max(len(chunk) for chunk in chunks) <= CHUNK_BYTES
    assert b"".join(storage.read_chunks("results/clip.mp4", 10, 20)) == data[10:20]
    assert b"".join(storage.read_chunks("results/clip.mp4", len(data) - 4)) == b"tail"
    with pytest.raises(FileNotFoundError):
        storage.stat("results/gone.mp4")
    with pytest.raises(FileNotFoundError):
        next(storage.read_chunks("results/gone.mp4"))


def test_presigned_download_carries_any_name(s3_settings):
    storage = support.current_runtime().storage
    storage.put("results/y.mp4", b"mp4 bytes", "video/mp4")
    response = httpx.get(storage.presigned_url("results/y.mp4", 60, "Été_x2.mp4", "video/mp4"))
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Ete_x2.mp4\"; filename*=UTF-8''%C3%89t%C3%A9_x2.mp4"
    )
    ranged = httpx.get(
        storage.presigned_url("results/y.mp4", 60, "y.mp4", "video/mp4"), headers={"Range": "bytes=0-2"}
    )
    assert (ranged.status_code, ranged.content) == (206, b"mp4")


def test_lifecycle_rule_is_put_on_the_bucket_at_start(s3_settings, client, s3_server, bucket):
    rules = _bucket_client(s3_server).get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["Status"] == "Enabled"
    assert rules[0]["Expiration"]["Days"] == 2  # default 24 h retention + one day of margin
    assert rules[0]["Filter"]["Prefix"] == "jobs/"


def test_a_job_on_s3_redirects_to_its_result_then_expires(configure, s3_server, bucket, signup):
    configure(storage_url=f"s3://{bucket}/jobs", s3_endpoint_url=s3_server, result_ttl="2")
    user = signup()
    job = submit(user, support.png_bytes(40, 30), model="bicubic", scale=3).json()
    assert bucket_keys(s3_server, bucket) == [f"jobs/inputs/{job['id']}"]
    run(job["id"])
    assert bucket_keys(s3_server, bucket) == [f"jobs/results/{job['id']}-1.png"]  # input gone at once

    redirect = user.get(f"/v1/jobs/{job['id']}/result", follow_redirects=False)
    assert redirect.status_code == 307
    download = httpx.get(redirect.headers["location"])
    assert download.headers["content-disposition"] == 'attachment; filename="in_x3.png"'
    assert Image.open(io.BytesIO(download.content)).size == (120, 90)

    time.sleep(2.1)
    sweep(support.current_runtime())
    assert bucket_keys(s3_server, bucket) == []
    assert user.get(f"/v1/jobs/{job['id']}").json()["status"] == "expired"


def test_links_are_signed_for_where_clients_reach_the_bucket(configure, s3_server, bucket, signup):
    """MR_S3_PUBLIC_ENDPOINT_URL: the service reaches the bucket at one address (a cluster's), clients at
    another. Download links and direct uploads name the clients' one; the page may show results from it."""
    public = s3_server.replace("127.0.0.1", "localhost")
    configure(storage_url=f"s3://{bucket}/jobs", s3_endpoint_url=s3_server, s3_public_endpoint_url=public)
    user = signup()
    ticket = user.post("/v1/uploads").json()
    assert ticket["url"].startswith(f"{public}/")
    assert _upload_to_bucket(ticket, support.png_bytes(40, 30)).status_code in (200, 201, 204)
    job = user.post("/v1/jobs", data={"upload_id": ticket["id"], "model": "bicubic", "scale": "2"}).json()
    run(job["id"])
    redirect = user.get(f"/v1/jobs/{job['id']}/result", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"].startswith(f"{public}/")
    assert Image.open(io.BytesIO(httpx.get(redirect.headers["location"]).content)).size == (80, 60)
    policy = user.get("/").headers["content-security-policy"]
    assert f"img-src 'self' blob: data: {public};" in policy and f"media-src 'self' blob: {public};" in policy


def test_without_an_endpoint_the_page_may_show_results_from_any_https_origin(configure, bucket):
    """On AWS S3 a link's host is the bucket's own name: no single origin to name."""
    settings = configure(storage_url=f"s3://{bucket}/jobs")
    assert "img-src 'self' blob: data: https:;" in _content_security_policy(settings)


def test_delete_now_empties_the_bucket(s3_settings, s3_server, bucket, signup):
    user = signup()
    job = submit(user, support.png_bytes()).json()
    run(job["id"])
    assert user.delete(f"/v1/jobs/{job['id']}").json()["status"] == "expired"
    assert bucket_keys(s3_server, bucket) == []


@contextmanager
def _served_on_s3(
    s3_server: str, bucket: str, tmp_path: Path, models_dir: Path, **settings: str
) -> Iterator[str]:
    """`mindrender serve` (API, worker and sweeper) storing in the bucket; yields its URL. Its log, one JSON
    object a line, is tmp_path / "serve.log"."""
    port = support.free_port()
    env = support.service_env(
        data_dir=str(tmp_path / "var"),
        models_dir=str(models_dir),
        storage_url=f"s3://{bucket}/jobs",
        s3_endpoint_url=s3_server,
        **settings,
    )
    env.update(AWS_ENV)
    log = tmp_path / "serve.log"
    process = support.start_process(support.mindrender("serve", "--port", str(port)), env, log)
    try:
        base = f"http://127.0.0.1:{port}"
        support.wait_http(f"{base}/healthz", process=process, log=log)
        yield base
    finally:
        support.stop_process(process)


def _settled_keys(endpoint: str, bucket: str, expected: list[str]) -> list[str]:
    """The bucket's keys once they are `expected`, or as they are after INPUT_RELEASE_SECONDS."""
    deadline = time.monotonic() + INPUT_RELEASE_SECONDS
    while (keys := bucket_keys(endpoint, bucket)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return keys


def _posts(log: Path) -> list[tuple[str, int | None]]:
    """The service's POSTs, as (route, declared body bytes), from its access lines."""
    return [
        (a["route"], a["request_bytes"]) for a in support.json_log_lines(log) if a.get("method") == "POST"
    ]


@pytest.mark.slow
def test_served_service_on_s3_deletes_every_object_soon_after_retention(
    s3_server, bucket, tmp_path, models_dir, http_client_factory
):
    with _served_on_s3(s3_server, bucket, tmp_path, models_dir, result_ttl="8", sweep_interval="2") as base:
        user = http_client_factory(base, support.new_account(http_client_factory, base, "s3@example.com"))
        files = {"file": ("in.png", support.png_bytes(32, 24), "image/png")}
        job = user.post("/v1/jobs", files=files, data={"model": "lanczos", "scale": "2"}).json()
        done = support.wait_job(user, job["id"])
        assert done["status"] == "succeeded", done
        result = f"jobs/results/{job['id']}-1.png"
        # The worker deletes the input just after ending the job: a client can see it succeed first.
        assert _settled_keys(s3_server, bucket, [result]) == [result]
        download = user.get(f"/v1/jobs/{job['id']}/result", follow_redirects=True)
        assert Image.open(io.BytesIO(download.content)).size == (64, 48)

        expired = support.wait_job(user, job["id"], timeout=8 + 2 + 10, until=("expired",))
        assert expired["status"] == "expired"
        assert bucket_keys(s3_server, bucket) == []


@pytest.mark.slow
def test_the_cli_sends_each_file_once_straight_to_the_bucket(
    s3_server, bucket, tmp_path, models_dir, http_client_factory
):
    with _served_on_s3(s3_server, bucket, tmp_path, models_dir, max_upload_bytes="20000") as base:
        key = support.new_account(http_client_factory, base, "cli-s3@example.com")
        photo, large = tmp_path / "photo.png", tmp_path / "large.png"
        photo.write_bytes(support.png_bytes(40, 30, seed=3))
        large.write_bytes(support.png_bytes(200, 200, seed=4))  # noise: about 120 kB of PNG
        assert 2000 < photo.stat().st_size < 20000 < large.stat().st_size
        out = tmp_path / "out"
        done = run_cli(
            "upscale", str(photo), str(large), "--model", "bicubic", "--scale", "2", "--out", str(out),
            api_url=base, api_key=key,
        )  # fmt: skip

        assert done.returncode == 1, done.stderr  # one file refused
        assert Image.open(out / "photo_x2.png").size == (80, 60)
        assert "photo.png: submitting, 40x30 -> 80x60, 1 credit" in done.stderr
        refusal = "large.png: refused: The file is larger than 20,000 bytes. (file_too_large, HTTP 413)"
        assert refusal in done.stderr
        user = http_client_factory(base, key)
        [job] = user.get("/v1/jobs").json()["jobs"]
        assert job["filename"] == "photo.png" and job["status"] == "succeeded"
        assert user.get("/v1/account").json()["credits_balance"] == 10 - job["credits_charged"]
        # The photo went to the bucket once: the quote and the job named it, neither carried it, and the
        # refused file was never sent at all.
        posts = _posts(tmp_path / "serve.log")
        # Sorted: a line is written once the request's background work is done, not in request order.
        assert sorted(route for route, _ in posts) == sorted(
            ["/v1/accounts", "/v1/uploads", "/v1/jobs/quote", "/v1/jobs", "/v1/uploads"]
        )
        assert all(size < 1000 for _, size in posts), posts

        # Behind a proxy that cannot reach the bucket, with the service outside it (localhost): the first file
        # tries a slot, then the API carries both files. Their jobs succeed; the results' links lead to the
        # bucket too, so each file says where to fetch its result later, and the other goes on.
        second, third = tmp_path / "second.png", tmp_path / "third.png"
        second.write_bytes(support.png_bytes(40, 30, seed=5))
        third.write_bytes(support.png_bytes(30, 40, seed=6))
        dead_proxy = {"HTTP_PROXY": f"http://127.0.0.1:{support.free_port()}", "NO_PROXY": "localhost"}
        behind = run_cli(
            "upscale", str(second), str(third), "--model", "bicubic", "--scale", "2", "--out", str(out),
            api_url=base.replace("127.0.0.1", "localhost"), api_key=key, more_env=dead_proxy,
        )  # fmt: skip
        assert behind.returncode == 1, behind.stderr
        assert "Traceback" not in behind.stderr and "cannot reach the service" not in behind.stderr
        assert behind.stderr.count("succeeded, but the result could not be downloaded") == 2, behind.stderr
        assert "2 files: 0 done, 2 failed; 2 credits spent" in behind.stderr
        later = _posts(tmp_path / "serve.log")[len(posts) :]
        each = ["/v1/jobs/quote", "/v1/jobs"]
        assert sorted(route for route, _ in later) == sorted(["/v1/uploads", *each, *each])
        assert all(size > 2000 for route, size in later if route != "/v1/uploads"), later
        # The hint says which address failed, and works from where the bucket can be reached.
        [hint] = re.findall(r"second\.png: succeeded, .*try `mindrender download (\S+)`", behind.stderr)
        still_behind = run_cli(
            "download", hint, "--out", str(out),
            api_url=base.replace("127.0.0.1", "localhost"), api_key=key, more_env=dead_proxy,
        )  # fmt: skip
        assert still_behind.returncode == 1
        assert f"cannot reach {s3_server}, where the service's link leads" in still_behind.stderr
        fetched = run_cli("download", hint, "--out", str(out), api_url=base, api_key=key)
        assert fetched.returncode == 0, fetched.stderr
        assert Image.open(out / "second_x2.png").size == (80, 60)


def _in_process(signup) -> ApiClient:
    """The CLI's client on the app in this process, as a new account."""
    api = ApiClient("http://testserver", "")
    api.http.close()
    api.http = signup()
    return api


def test_the_cli_sends_files_through_the_api_when_the_bucket_cannot_be_reached(
    configure, s3_server, bucket, signup, tmp_path
):
    """A bucket address this machine cannot reach (or one that refuses the post): the file goes with the
    quote and the job instead, and the client stops asking for slots."""
    dead = f"http://127.0.0.1:{support.free_port()}"
    configure(storage_url=f"s3://{bucket}/jobs", s3_endpoint_url=s3_server, s3_public_endpoint_url=dead)
    path = tmp_path / "photo.png"
    path.write_bytes(support.png_bytes(40, 30, seed=7))
    with _in_process(signup) as api:
        staged = api.stage(path)
        assert staged.upload_id is None and not api.direct_uploads
        assert api.stage(path).upload_id is None  # no second slot is opened
        quote = api.quote(staged, {"model": "bicubic", "scale": "2"})
        job = api.submit(staged, {"model": "bicubic", "scale": "2"}, uuid.uuid4().hex)
    assert quote["credits"] == job["credits_charged"] and job["input"]["width"] == 40
    with support.current_runtime().sessions() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 1


def _upload_to_bucket(ticket: dict, data: bytes) -> httpx.Response:
    return httpx.post(ticket["url"], data=ticket["fields"], files={"file": ("in.png", data, "image/png")})


def test_direct_upload_then_job(s3_settings, s3_server, bucket, signup):
    user = signup()
    ticket = user.post("/v1/uploads", json={"filename": "Urlaub/Strand am Meer.png"}).json()
    assert ticket["max_bytes"] == s3_settings.max_upload_bytes
    assert _upload_to_bucket(ticket, support.png_bytes(30, 20)).status_code in (200, 201, 204)
    job = user.post("/v1/jobs", data={"upload_id": ticket["id"], "model": "bicubic", "scale": "2"})
    assert job.status_code == 202, job.text
    assert job.json()["input"] == {"width": 30, "height": 20, "format": "png"}
    assert job.json()["filename"] == "Strand am Meer.png"  # given when the slot was opened
    assert bucket_keys(s3_server, bucket) == [f"jobs/inputs/{job.json()['id']}"]  # the upload object is gone
    again = user.post("/v1/jobs", data={"upload_id": ticket["id"], "model": "bicubic", "scale": "2"})
    assert again.status_code == 404 and again.json()["error"]["code"] == "upload_not_found"


def test_direct_upload_is_size_limited_and_validated_before_charging(configure, s3_server, bucket, signup):
    configure(storage_url=f"s3://{bucket}/jobs", s3_endpoint_url=s3_server, max_upload_bytes="3000")
    user = signup()
    too_big = user.post("/v1/uploads").json()
    policy = json.loads(base64.b64decode(too_big["fields"]["policy"]))
    assert ["content-length-range", 1, 3000] in policy["conditions"]  # a real S3 refuses larger bodies
    _upload_to_bucket(too_big, support.png_bytes(200, 200))  # moto's server does not enforce the policy...
    refused_big = user.post("/v1/jobs", data={"upload_id": too_big["id"], "model": "bicubic", "scale": "2"})
    assert refused_big.status_code == 413  # ...so the API checks the size again before anything is charged

    corrupt = user.post("/v1/uploads").json()
    _upload_to_bucket(corrupt, support.png_bytes(30, 20)[:-30])
    refused = user.post("/v1/jobs", data={"upload_id": corrupt["id"], "model": "bicubic", "scale": "2"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "corrupt_image"
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert user.get("/v1/jobs").json()["jobs"] == []
    # Refused uploads stay until their slot expires (a retry may fix the parameters), then the sweeper
    # deletes them.
    assert sorted(bucket_keys(s3_server, bucket)) == sorted(
        f"jobs/uploads/{t['id']}" for t in (too_big, corrupt)
    )
    later = utcnow() + timedelta(seconds=get_settings().result_url_ttl + 1)
    sweep_uploads(support.current_runtime(), later)
    assert bucket_keys(s3_server, bucket) == []


def test_a_refused_direct_upload_can_be_retried_and_a_retry_replays(s3_settings, s3_server, bucket, signup):
    user = signup()
    ticket = user.post("/v1/uploads").json()
    _upload_to_bucket(ticket, support.png_bytes(30, 20))
    wrong = user.post("/v1/jobs", data={"upload_id": ticket["id"], "model": "bicubic", "scale": "5"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unsupported_scale"

    fields = {"upload_id": ticket["id"], "model": "bicubic", "scale": "2"}
    first = user.post("/v1/jobs", data=fields, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 202, first.text
    retry = user.post("/v1/jobs", data=fields, headers={"Idempotency-Key": "k1"})
    assert retry.status_code == 202 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert user.get("/v1/account").json()["credits_balance"] == 10 - first.json()["credits_charged"]
    assert bucket_keys(s3_server, bucket) == [f"jobs/inputs/{first.json()['id']}"]
    other = user.post("/v1/jobs", data=fields, headers={"Idempotency-Key": "k2"})
    assert other.status_code == 404 and other.json()["error"]["code"] == "upload_not_found"


def test_direct_upload_needs_s3(settings, signup):
    response = signup().post("/v1/uploads")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "direct_upload_unavailable"


def test_a_stored_file_the_service_no_longer_has_is_sent_along_instead(s3_settings, signup, tmp_path):
    """The slot expired while a slow upload ran (here: another job claimed it): the quote and the job still
    come, with the file sent along, and the job under a key of its own."""
    path = tmp_path / "photo.png"
    path.write_bytes(support.png_bytes(40, 30, seed=8))
    fields = {"model": "bicubic", "scale": "2"}
    with _in_process(signup) as api:
        staged = api.stage(path)
        assert staged.upload_id is not None
        taken = api.http.post("/v1/jobs", data={**fields, "upload_id": staged.upload_id})
        assert taken.status_code == 202, taken.text
        quote = _stored_or_sent(partial(api.quote, fields=fields), staged)
        item = Upscale(path)
        _submit(api, item, staged, fields)
    assert item.job is not None and item.job["id"] != taken.json()["id"]
    assert quote["credits"] == item.job["credits_charged"] and item.job["input"]["width"] == 40
