"""Each image format's own size limit, checked at submission and quote before anything is charged: the
worker's encoder would refuse a larger result (WebP 16,383 a side, JPEG 65,500)."""

from __future__ import annotations

import pytest

from tests.jobs.test_lifecycle import run
from tests.jobs.test_quote import quote
from tests.jobs.test_submit import assert_nothing_kept, submit
from tests.support import png_bytes


@pytest.mark.parametrize(
    ("size", "output_format", "fits"),
    [((1, 2100), "webp", "png or jpeg"), ((2100, 1), "webp", "png or jpeg"), ((1, 8200), "jpeg", "png")],
    ids=["webp-tall", "webp-wide", "jpeg-tall"],
)
def test_a_result_past_its_formats_side_is_refused_before_charging(
    signup, settings, size, output_format, fits
):
    user = signup()
    image = png_bytes(*size)
    quoted = quote(user, image, scale=8, output_format=output_format)
    assert quoted.status_code == 422, quoted.text
    assert quoted.json()["error"]["code"] == "output_too_large"
    response = submit(user, image, scale=8, output_format=output_format)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "output_too_large"
    assert f"output_format={fits}" in error["message"]
    assert_nothing_kept(user, settings)


@pytest.mark.parametrize(
    ("size", "output_format"),
    [((1, 2047), "webp"), ((1, 8187), "jpeg"), ((1, 8200), "png")],
    ids=["webp-16376", "jpeg-65496", "png-65600"],
)
def test_results_within_their_formats_side_are_written(signup, settings, size, output_format):
    user = signup()
    response = submit(user, png_bytes(*size), scale=8, output_format=output_format)
    assert response.status_code == 202, response.text
    run(response.json()["id"])
    assert user.get(f"/v1/jobs/{response.json()['id']}").json()["status"] == "succeeded"
