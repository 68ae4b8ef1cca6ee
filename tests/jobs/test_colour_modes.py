"""Every colour mode an upload may have (LAB, CMYK, YCbCr, 16-bit and float grey, palettes with
transparency...), read by `preset=auto` and run by a plain job on the worker: never a 500, never a
channel the image did not have."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.catalog.presets import PRESETS
from app.media.image_codec import decode_image
from tests.catalog.test_auto_preset import TEXT as TEXT_RGB
from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit


def _saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _palette_with_transparency() -> bytes:
    image = Image.fromarray(TEXT).convert("P")
    return _saved(image, "PNG", transparency=int(np.asarray(image)[0, 0]))


TEXT = TEXT_RGB[:, :, 0]  # rendered grey on white
GREY = Image.fromarray(TEXT)
RGB = GREY.convert("RGB")
# Each upload holds the same rendered text; channels: what the decoded pixels have.
UPLOADS = {
    "lab-tiff": (lambda: _saved(RGB.convert("LAB"), "TIFF"), 3),
    "cmyk-tiff": (lambda: _saved(RGB.convert("CMYK"), "TIFF"), 3),
    "cmyk-jpeg": (lambda: _saved(RGB.convert("CMYK"), "JPEG", quality=95), 3),
    "ycbcr-tiff": (lambda: _saved(RGB.convert("YCbCr"), "TIFF"), 3),
    "grey16-png": (lambda: _saved(Image.fromarray(TEXT.astype(np.uint16) * 257), "PNG"), 1),
    "grey16-big-endian-tiff": (
        lambda: _saved(Image.fromarray(TEXT.astype(np.uint16) * 257).convert("I;16B"), "TIFF"),
        1,
    ),
    "grey32-tiff": (lambda: _saved(Image.fromarray(TEXT.astype(np.int32) * 257, "I"), "TIFF"), 1),
    "float-tiff": (lambda: _saved(Image.fromarray(TEXT.astype(np.float32) / 255, "F"), "TIFF"), 1),
    "palette-transparency-png": (_palette_with_transparency, 4),
    "palette-tiff": (lambda: _saved(RGB.convert("P"), "TIFF"), 3),
    "bilevel-bmp": (lambda: _saved(GREY.convert("1"), "BMP"), 1),
    "grey-alpha-tiff": (lambda: _saved(GREY.convert("LA"), "TIFF"), 2),
}


@pytest.mark.parametrize("name", list(UPLOADS))
def test_auto_reads_every_colour_mode_as_the_text_it_holds(signup, name):
    user = signup()
    files = {"file": ("upload", UPLOADS[name][0](), "application/octet-stream")}
    response = user.post("/v1/jobs", files=files, data={"preset": "auto", "scale": "2"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert "; text:" in job["reason"], job["reason"]
    assert job["model"] == PRESETS["text"].model


@pytest.mark.parametrize("name", list(UPLOADS))
def test_a_plain_job_runs_every_colour_mode(signup, settings, name):
    data, channels = UPLOADS[name][0](), UPLOADS[name][1]
    assert decode_image(data).pixels.shape == (*TEXT.shape, channels)
    user = signup()
    job = submit(user, data, model="bicubic", scale=2).json()
    run(job["id"])
    done = user.get(f"/v1/jobs/{job['id']}").json()
    assert done["status"] == "succeeded", done
    result = Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content))
    assert result.size == (TEXT.shape[1] * 2, TEXT.shape[0] * 2)
    # The text survives: dark ink on light paper, not an inverted, blank or transparent page.
    grey = np.asarray(result.convert("RGBA").convert("L"), dtype=np.float64)
    assert grey.mean() > 150 and grey.min() < 60
