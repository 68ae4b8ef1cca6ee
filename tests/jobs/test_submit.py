"""Submitting jobs: validation before any charge, pricing, idempotency, listing, cancel."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.credits.service import ledger_sum
from tests.support import current_runtime, png_bytes


def submit(user, data: bytes, model: str = "bicubic", scale: int = 2, **extra):
    headers = extra.pop("headers", {})
    fields = {"model": model, "scale": str(scale), **extra}
    return user.post("/v1/jobs", files={"file": ("in.png", data, "image/png")}, data=fields, headers=headers)


def balance(user) -> int:
    return user.get("/v1/account").json()["credits_balance"]


def assert_nothing_kept(user, settings) -> None:
    """The account paid nothing, no job row exists, and no object was stored."""
    assert balance(user) == 10
    assert user.get("/v1/jobs").json()["jobs"] == []
    assert list(current_runtime().storage.keys()) == []


def _gif_animation() -> bytes:
    frames = [Image.new("RGB", (8, 8), (i * 80, 0, 0)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def _bomb_png() -> bytes:
    """A PNG whose header claims 30000 x 30000 pixels but whose data is tiny."""
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"hello, I am text", 415, "unsupported_image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "unsupported_image"),
        (png_bytes()[:200], 422, "corrupt_image"),
        (png_bytes()[:-40], 422, "corrupt_image"),
        (_gif_animation(), 415, "animated_image"),
        (_bomb_png(), 422, "image_too_large"),
    ],
    ids=["empty", "text", "svg", "truncated-header", "truncated-data", "animated-gif", "bomb"],
)
def test_bad_images_are_refused_before_any_charge(signup, settings, data, status, code):
    user = signup()
    response = submit(user, data)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert_nothing_kept(user, settings)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"model": "nope"}, "unknown_model"),
        ({"scale": 5}, "unsupported_scale"),
        ({"scale": 0}, "unsupported_scale"),
    ],
)
def test_bad_parameters_are_refused(signup, settings, fields, code):
    user = signup()
    response = submit(user, png_bytes(), **{"model": "bicubic", "scale": 2, **fields})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert_nothing_kept(user, settings)


def test_upload_limit_is_enforced_while_streaming(configure, signup):
    settings = configure(max_upload_bytes="2000")
    user = signup()
    big = png_bytes(200, 200)
    response = submit(user, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert_nothing_kept(user, settings)


def test_pixel_limits_on_input_and_output(configure, signup):
    settings = configure(max_input_pixels="1000", max_output_pixels="20000")
    user = signup()
    assert submit(user, png_bytes(40, 30)).json()["error"]["code"] == "image_too_large"
    too_big_out = submit(user, png_bytes(30, 30), scale=8)
    assert too_big_out.status_code == 422
    assert too_big_out.json()["error"]["code"] == "output_too_large"
    assert_nothing_kept(user, settings)


def test_accepted_job_reserves_its_price_and_stores_the_input(signup, settings):
    user = signup()
    response = submit(user, png_bytes(64, 48), model="srcnn", scale=2)
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued"
    assert job["input"] == {"width": 64, "height": 48, "format": "png"}
    assert (job["output"]["width"], job["output"]["height"]) == (128, 96)
    assert job["credits_charged"] == 1
    assert balance(user) == 9
    assert list(current_runtime().storage.keys()) == [f"inputs/{job['id']}"]


def test_price_depends_on_model_and_output_size(signup, settings):
    models = {m["id"]: m for m in signup().get("/v1/models").json()}
    assert set(models) >= {"nearest", "bilinear", "bicubic", "lanczos", "srcnn"}
    srcnn = models["srcnn"]
    assert srcnn["scales"] == [2, 3, 4, 8]
    assert srcnn["max_input_pixels"] == settings.max_input_pixels

    user = signup()
    big = submit(user, png_bytes(600, 400), model="srcnn", scale=8).json()  # 15.36 MP out
    expected = max(
        srcnn["credits"]["minimum"], int(np.ceil(15.36 / srcnn["credits"]["megapixels_per_credit"]))
    )
    assert big["credits_charged"] == expected > 1


def test_insufficient_credits_is_402_and_changes_nothing(signup, settings):
    user = signup()
    response = submit(user, png_bytes(1000, 1000), model="srcnn", scale=8)  # 64 MP out: 16 credits
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert_nothing_kept(user, settings)


def test_idempotency_key_replays_without_a_second_charge(signup, settings):
    user = signup()
    data = png_bytes()
    first = submit(user, data, headers={"Idempotency-Key": "k1"})
    again = submit(user, data, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert balance(user) == 9

    different = submit(user, png_bytes(seed=1), headers={"Idempotency-Key": "k1"})
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "idempotency_key_reused"
    assert balance(user) == 9


def test_a_refused_request_does_not_burn_its_idempotency_key(signup, settings):
    user = signup()
    assert (
        submit(
            user, png_bytes(1000, 1000), model="srcnn", scale=8, headers={"Idempotency-Key": "k"}
        ).status_code
        == 402
    )
    assert submit(user, png_bytes(), headers={"Idempotency-Key": "k"}).status_code == 202


def test_idempotency_keys_are_per_account(signup, settings):
    alice, bob = signup(), signup()
    data = png_bytes()
    a = submit(alice, data, headers={"Idempotency-Key": "same"})
    b = submit(bob, data, headers={"Idempotency-Key": "same"})
    # Bob's request is a new job of his own, charged to him, not a replay of Alice's.
    assert a.status_code == b.status_code == 202
    assert "Idempotent-Replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert balance(alice) == balance(bob) == 9
    assert [job["id"] for job in bob.get("/v1/jobs").json()["jobs"]] == [b.json()["id"]]
    assert bob.get(f"/v1/jobs/{a.json()['id']}").status_code == 404


def test_jobs_list_newest_first_with_cursor(signup, settings):
    user = signup()
    ids = [submit(user, png_bytes(seed=i)).json()["id"] for i in range(5)]
    page1 = user.get("/v1/jobs", params={"limit": 2}).json()
    page2 = user.get("/v1/jobs", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    page3 = user.get("/v1/jobs", params={"limit": 2, "cursor": page2["next_cursor"]}).json()
    listed = [j["id"] for page in (page1, page2, page3) for j in page["jobs"]]
    assert listed == ids[::-1]
    assert page3["next_cursor"] is None
    assert user.get("/v1/jobs", params={"cursor": "garbage!"}).json()["error"]["code"] == "invalid_cursor"


def test_another_accounts_job_is_a_404(signup, settings):
    alice, bob = signup(), signup()
    job_id = submit(alice, png_bytes()).json()["id"]
    for response in (
        bob.get(f"/v1/jobs/{job_id}"),
        bob.get(f"/v1/jobs/{job_id}/result"),
        bob.delete(f"/v1/jobs/{job_id}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
    assert alice.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"


def test_cancel_a_queued_job_refunds_once_and_deletes_its_input(signup, settings):
    user = signup()
    job_id = submit(user, png_bytes()).json()["id"]
    canceled = user.delete(f"/v1/jobs/{job_id}")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["credits_refunded"] == 1
    assert user.delete(f"/v1/jobs/{job_id}").json()["credits_refunded"] == 1
    assert balance(user) == 10
    assert list(current_runtime().storage.keys()) == []
    account_id = user.get("/v1/account").json()["id"]
    with current_runtime().unit_of_work() as session:
        assert ledger_sum(session, account_id) == 10
    kinds = [e["kind"] for e in user.get("/v1/account/ledger").json()["entries"]]
    assert kinds == ["job_refund", "job_hold", "signup_grant"]


def test_result_of_an_unfinished_job_is_a_409(signup, settings):
    user = signup()
    job_id = submit(user, png_bytes()).json()["id"]
    response = user.get(f"/v1/jobs/{job_id}/result")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "result_not_available"


def test_upload_limit_holds_without_content_length(configure, signup):
    """A chunked body (no Content-Length) is counted as it streams and cut off at the cap."""
    settings = configure(max_upload_bytes="2000")
    user = signup()
    boundary = "mrboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nbicubic\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="scale"\r\n\r\n2\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def body():
        yield head
        for _ in range(2000):  # ~2 MB, far past the ~1 MB multipart allowance
            yield b"\0" * 1024
        yield f"\r\n--{boundary}--\r\n".encode()

    response = user.post(
        "/v1/jobs", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert_nothing_kept(user, settings)


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/jobs", base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode()),  # no time zone
        ("/v1/jobs", "%%%"),
        ("/v1/account/ledger", "\u00b2"),  # a digit to str.isdigit(), not to int()
        ("/v1/account/ledger", "abc"),
    ],
)
def test_bad_cursors_are_a_400(signup, settings, path, cursor):
    response = signup().get(path, params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_forged_download_links_are_a_404_not_a_500(signup, settings):
    user = signup()
    for token in ("abc.\u00e9", "nodot", "eyJ4IjoxfQ.bad"):
        assert user.get(f"/v1/files/{token}").status_code == 404


def _queue_of(job_id: str) -> str:
    from app.jobs.models import Job

    with current_runtime().unit_of_work() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.queue


def test_jobs_are_routed_by_model_and_tiny_inputs_skip_the_gpu(configure, signup):
    user = signup()
    tiny = submit(user, png_bytes(16, 16), model="realesrgan-x4plus", scale=2).json()
    large = submit(user, png_bytes(200, 100), model="realesrgan-x4plus", scale=2).json()
    classical = submit(user, png_bytes(200, 100), model="lanczos", scale=2).json()
    assert [_queue_of(j["id"]) for j in (tiny, large, classical)] == ["cpu", "gpu", "cpu"]


def test_tiny_inputs_can_be_kept_on_the_gpu(configure, signup):
    configure(cpu_small_job_input_pixels="0")
    user = signup()
    assert (
        _queue_of(submit(user, png_bytes(16, 16), model="realesrgan-x4plus", scale=2).json()["id"]) == "gpu"
    )


def test_ledger_rows_name_their_job_file_until_delete_now_forgets_it(signup, settings, client):
    user = signup()
    kept, deleted = (
        user.post(
            "/v1/jobs",
            files={"file": (name, png_bytes(seed=seed), "image/png")},
            data={"model": "bicubic", "scale": "2"},
        ).json()["id"]
        for seed, name in enumerate(["holiday.png", "passport.png"])
    )
    user.delete(f"/v1/jobs/{deleted}")  # "Delete now": the name goes with the files, from the ledger too
    entries = user.get("/v1/account/ledger").json()["entries"]
    named = {(e["kind"], e["job_id"]): e["filename"] for e in entries}
    assert named == {
        ("job_refund", deleted): None,
        ("job_hold", deleted): None,
        ("job_hold", kept): "holiday.png",
        ("signup_grant", None): None,
    }
    schema = client.get("/openapi.json").json()["components"]["schemas"]["LedgerEntryOut"]
    assert schema["properties"]["filename"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
