"""POST /v1/jobs/quote: the submission's own checks and price, with nothing charged, stored or created."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.credits.models import LedgerEntry
from app.credits.service import grant_credits
from app.jobs.models import Job
from tests.jobs.test_submit import balance, submit
from tests.support import current_runtime, one_window, png_bytes
from tests.video.clips import Clip, make_clip


def quote(user, data: bytes, name: str = "in.png", **fields):
    form = {"model": "bicubic", "scale": "2", **{k: str(v) for k, v in fields.items()}}
    if "preset" in fields:
        form.pop("model")
    return user.post("/v1/jobs/quote", files={"file": (name, data, "application/octet-stream")}, data=form)


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@contextmanager
def nothing_changes(user, settings) -> Iterator[None]:
    """The ledger, the jobs table, the balance and every file under the data dir are the same after."""
    runtime = current_runtime()

    def snapshot() -> tuple[int, int, int, list[str], list[str]]:
        with runtime.unit_of_work() as session:
            entries = session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
            jobs = session.execute(select(func.count()).select_from(Job)).scalar_one()
        storage = list(runtime.storage.keys())
        return entries, jobs, balance(user), storage, _files(settings.data_dir / "storage")

    before = snapshot()
    yield
    assert snapshot() == before


def test_an_image_quote_is_the_price_a_submission_then_charges(signup, settings):
    user = signup()
    image = png_bytes(300, 200)
    with nothing_changes(user, settings):
        response = quote(user, image, model="srcnn", scale=4)
    assert response.status_code == 200, response.text
    priced = response.json()
    assert priced["model"] == "srcnn" and priced["scale"] == 4
    assert priced["input"] == {"width": 300, "height": 200, "format": "png"}
    assert priced["output"] == {"width": 1200, "height": 800, "format": "png"}
    assert priced["video"] is None
    assert priced["estimated_seconds"] > 0
    assert (priced["credits_balance"], priced["covered_by_balance"]) == (10, True)

    job = submit(user, image, model="srcnn", scale=4).json()
    assert job["credits_charged"] == priced["credits"] == 1  # srcnn: 1 credit per 4 MP, 0.96 MP here
    assert job["estimated_seconds"] == pytest.approx(priced["estimated_seconds"], abs=0.05)


def test_a_video_quote_counts_its_frames(signup, settings):
    user = signup()
    clip = make_clip(Clip(width=320, height=240, frames=24))
    with nothing_changes(user, settings):
        priced = quote(user, clip, name="clip.mp4", model="srcnn").json()
    assert priced["video"] == {"frames": 24, "fps": 24.0, "duration_seconds": pytest.approx(1.0, abs=0.002)}
    assert priced["output"] == {"width": 640, "height": 480, "format": "mp4"}
    job = submit(user, clip, model="srcnn").json()
    assert priced["credits"] == job["credits_charged"] == 2  # 7.4 MP-frames at 1 credit per 4 MP
    assert priced["video"] == job["video"]


def test_automatic_names_the_model_it_picked_and_why(signup, settings):
    user = signup()
    image = png_bytes(48, 32, seed=3)
    with nothing_changes(user, settings):
        priced = quote(user, image, preset="auto", scale=2).json()
    assert priced["preset"] == "auto" and priced["reason"]
    job = user.post(
        "/v1/jobs", files={"file": ("in.png", image)}, data={"preset": "auto", "scale": "2"}
    ).json()
    assert (job["model"], job["denoise"], job["reason"], job["credits_charged"]) == (
        priced["model"],
        priced["denoise"],
        priced["reason"],
        priced["credits"],
    )


def test_a_price_over_the_balance_is_quoted_not_refused(signup, settings):
    user = signup()
    with nothing_changes(user, settings):
        response = quote(user, png_bytes(1000, 1000), model="srcnn", scale=8)  # 64 MP: 16 credits
    assert response.status_code == 200, response.text
    assert (response.json()["credits"], response.json()["covered_by_balance"]) == (16, False)
    assert submit(user, png_bytes(1000, 1000), model="srcnn", scale=8).status_code == 402


def test_decoding_is_for_those_who_can_pay(configure, signup, settings):
    """An account without credits gets its price from the header alone: no free decodes (a damaged body is
    found once the balance covers it); `auto`, which must decode to pick, answers 402 as a submission does."""
    configure(signup_credits="0")
    user = signup()
    damaged = png_bytes(300, 300)[:-200]  # a sound header, a truncated body
    with nothing_changes(user, settings):
        priced = quote(user, damaged, model="srcnn", scale=2)
        auto = quote(user, damaged, preset="auto", scale=2)
    assert priced.status_code == 200, priced.text
    assert (priced.json()["credits"], priced.json()["covered_by_balance"]) == (1, False)
    assert (auto.status_code, auto.json()["error"]["code"]) == (402, "insufficient_credits")
    assert auto.json() == submit(user, damaged, model=None, preset="auto", scale=2).json()
    # The same account, once it can pay, is told the body is damaged.
    with current_runtime().unit_of_work() as session:
        grant_credits(session, _account_id(user), 5, "operator_grant")
    refused = quote(user, damaged, model="srcnn", scale=2)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "corrupt_image")


def _account_id(user) -> str:
    return str(user.get("/v1/account").json()["id"])


def _truncated_clip() -> bytes:
    data = make_clip()
    return data[: len(data) * 6 // 10]


@pytest.mark.parametrize(
    ("data", "fields", "status", "code"),
    [
        (b"hello, I am text", {}, 415, "unsupported_image"),
        (png_bytes()[:-40], {}, 422, "corrupt_image"),
        (_truncated_clip(), {}, 422, "corrupt_video"),
        (make_clip(), {"output_format": "png"}, 422, "unsupported_output_format"),
        (png_bytes(), {"model": "nope"}, 422, "unknown_model"),
        (png_bytes(), {"scale": 5}, 422, "unsupported_scale"),
        (b"", {}, 400, "empty_file"),
    ],
    ids=["text", "truncated-image", "truncated-video", "video-as-png", "unknown-model", "scale-5", "empty"],
)
def test_a_quote_refuses_what_a_submission_refuses(signup, settings, data, fields, status, code):
    user = signup()
    with nothing_changes(user, settings):
        quoted = quote(user, data, **fields)
        submitted = submit(user, data, **{"model": "bicubic", "scale": 2, **fields})
    assert (quoted.status_code, quoted.json()["error"]["code"]) == (status, code), quoted.text
    assert quoted.json() == submitted.json()  # the same code and the same message


def test_quotes_are_rate_limited_on_their_own_count(configure, signup):
    configure(job_submissions_per_minute="2")
    user = signup()
    one_window(60)
    assert [quote(user, png_bytes()).status_code for _ in range(3)] == [200, 200, 429]
    limited = quote(user, png_bytes())
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert submit(user, png_bytes()).status_code == 202  # quoting used none of the submissions


def test_a_quote_needs_an_account_and_a_file(client, signup, settings):
    assert client.post("/v1/jobs/quote", data={"model": "bicubic", "scale": "2"}).status_code == 401
    missing = signup().post("/v1/jobs/quote", data={"model": "bicubic", "scale": "2"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "file_or_upload_required")


def test_the_quote_is_documented(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/jobs/quote"]["post"]
    assert operation["summary"].startswith("Price, time and result size")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/JobQuote"
    )
    assert {"415", "422", "429"} <= set(operation["responses"])
    form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = client.get("/openapi.json").json()["components"]["schemas"][form]["properties"]
    assert {"file", "model", "preset", "scale", "denoise", "output_format"} <= set(fields)
