"""`Prefer: wait=N` on POST /v1/jobs: whole seconds only, clamped to a minute, never an error."""

from __future__ import annotations

import pytest

from app.jobs.endpoints import MAX_WAIT_SECONDS, _wait_seconds
from tests.support import png_bytes


@pytest.mark.parametrize(
    ("prefer", "seconds"),
    [
        (None, 0),
        ("wait=5", 5),
        ("respond-async, wait=5", 5),
        ("wait=5, respond-async", 5),
        ("wait=0005", 5),
        ("wait=61", MAX_WAIT_SECONDS),
        ("wait=" + "9" * 4301, MAX_WAIT_SECONDS),
        ("wait=" + "0" * 5000 + "7", 7),
        ("wait=1.5", 0),
        ("wait=1e3", 0),
        ("wait=-1", 0),
        ("wait=", 0),
    ],
)
def test_wait_is_whole_seconds_clamped_to_a_minute(prefer, seconds):
    assert _wait_seconds(prefer) == seconds


def test_a_fractional_wait_is_ignored_not_truncated(signup, settings):
    user = signup()
    response = user.post(
        "/v1/jobs",
        files={"file": ("in.png", png_bytes(), "image/png")},
        data={"model": "bicubic", "scale": "2"},
        headers={"Prefer": "wait=1.5"},
    )
    assert response.status_code == 202, response.text
    assert "preference-applied" not in response.headers
