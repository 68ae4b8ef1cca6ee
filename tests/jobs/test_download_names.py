"""A job keeps its upload's name; its result and its zip entry download under that name and the scale."""

from __future__ import annotations

import io
import zipfile

from tests.jobs.test_lifecycle import run
from tests.support import png_bytes


def _submit(user, name: str, scale: int = 2, **fields: str):
    files = {"file": (name, png_bytes(20, 10), "image/png")}
    response = user.post("/v1/jobs", files=files, data={"model": "bicubic", "scale": str(scale), **fields})
    assert response.status_code == 202, response.text
    return response.json()


def test_the_result_downloads_under_the_uploads_name(signup, settings):
    user = signup()
    job = _submit(user, "C:\\Fotos\\Été 2026.png", scale=3, output_format="webp")
    assert job["filename"] == "Été 2026.png"  # the last path part only
    run(job["id"])
    assert user.get(f"/v1/jobs/{job['id']}").json()["filename"] == "Été 2026.png"
    assert user.get("/v1/jobs").json()["jobs"][0]["filename"] == "Été 2026.png"

    result = user.get(f"/v1/jobs/{job['id']}/result")
    assert result.status_code == 200
    assert result.headers["content-type"] == "image/webp"
    assert result.headers["content-disposition"] == (
        "attachment; filename=\"Ete 2026_x3.webp\"; filename*=UTF-8''%C3%89t%C3%A9%202026_x3.webp"
    )
    renamed = user.get(f"/v1/jobs/{job['id']}/result", params={"filename": "../holiday/sunset.WEBP"})
    assert renamed.headers["content-disposition"] == 'attachment; filename="sunset.webp"'
    stem_only = user.get(f"/v1/jobs/{job['id']}/result", params={"filename": "sunset"})
    assert stem_only.headers["content-disposition"] == 'attachment; filename="sunset.webp"'
    # The page asks for the upload's own name with the scale: a name over 200 characters is cut, not
    # refused, and the cut never leaves a space before the extension.
    long = user.get(f"/v1/jobs/{job['id']}/result", params={"filename": "a" * 194 + " " + "b" * 30})
    assert long.status_code == 200, long.text
    assert long.headers["content-disposition"] == f'attachment; filename="{"a" * 194}.webp"'
    # "Delete now" deletes the name with the files.
    assert user.delete(f"/v1/jobs/{job['id']}").json()["filename"] is None
    assert user.get(f"/v1/jobs/{job['id']}").json()["filename"] is None


def test_a_nameless_upload_downloads_under_the_job_id(signup, settings):
    user = signup()
    job = _submit(user, "...")  # nothing left once cleaned
    assert job["filename"] is None
    run(job["id"])
    result = user.get(f"/v1/jobs/{job['id']}/result")
    assert result.headers["content-disposition"] == f'attachment; filename="{job["id"]}_x2.png"'


def test_archive_entries_are_named_after_the_uploads_and_kept_apart(signup, settings):
    user = signup()
    jobs = [_submit(user, name) for name in ("photo.png", "PHOTO.png", "photo.jpg", "写真.png")]
    jobs.append(_submit(user, "photo.png", scale=3))
    for job in jobs:
        run(job["id"])
    response = user.get("/v1/jobs/archive", params={"ids": ",".join(job["id"] for job in jobs)})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == [
            "photo_x2.png",
            "PHOTO_x2 (2).png",  # the same name on Windows and macOS
            "photo_x2 (3).png",
            "写真_x2.png",
            "photo_x3.png",
        ]
        assert archive.testzip() is None


def test_archive_of_all_results_holds_the_newest_with_a_result(signup, settings):
    user, other = signup(), signup()
    done = [_submit(user, f"{name}.png") for name in ("first", "second")]
    for job in done:
        run(job["id"])
    _submit(user, "queued.png")
    run(_submit(other, "foreign.png")["id"])
    response = user.get("/v1/jobs/archive", params={"all": "true"})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["second_x2.png", "first_x2.png"]  # newest first, nothing else
    neither = user.get("/v1/jobs/archive")
    assert neither.status_code == 422 and neither.json()["error"]["code"] == "invalid_archive"
    both = user.get("/v1/jobs/archive", params={"all": "true", "ids": done[0]["id"]})
    assert both.status_code == 422 and both.json()["error"]["code"] == "invalid_archive"
    empty = signup().get("/v1/jobs/archive", params={"all": "true"})
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "result_not_available"
