"""Result metadata: camera EXIF and ICC kept, GPS dropped by default; `all` and `none`; quality honoured."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.jobs.test_lifecycle import run
from tests.jobs.test_submit import submit

MAKE, ORIENTATION, GPS = 0x010F, 0x0112, 0x8825
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_jpeg() -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[MAKE] = "Fujifilm"
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS).update({1: "N", 2: (51.0, 30.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), icc_profile=ICC, quality=95)
    return buffer.getvalue()


def result_of(user, **fields) -> Image.Image:
    job = submit(user, camera_jpeg(), model="bicubic", scale=2, **fields).json()
    run(job["id"])
    return Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content))


@pytest.mark.parametrize(
    ("mode", "make", "gps", "icc"),
    [("default", "Fujifilm", False, True), ("all", "Fujifilm", True, True), ("none", None, False, False)],
)
def test_metadata_modes(signup, settings, mode, make, gps, icc):
    result = result_of(signup(), metadata=mode)
    assert result.format == "JPEG"
    assert result.size == (48, 64)  # rotated upright (orientation 6), then 2x
    exif = result.getexif()
    assert exif.get(MAKE) == make
    assert bool(exif.get_ifd(GPS)) is gps
    assert exif.get(ORIENTATION) in (None, 1)
    assert (result.info.get("icc_profile") == ICC) is icc


def test_output_format_and_quality_are_honoured(signup, settings):
    user = signup()
    low = result_of(user, output_format="webp", output_quality="20")
    high = result_of(user, output_format="webp", output_quality="95")
    assert low.format == high.format == "WEBP"
    assert len(low.fp.getvalue()) < len(high.fp.getvalue())
    refused = submit(user, camera_jpeg(), output_quality="0")
    assert refused.status_code == 422


def test_16_bit_results_keep_their_colour_profile_and_camera_exif(signup, settings):
    user = signup()
    gray16 = Image.fromarray(np.random.default_rng(1).integers(0, 65536, (10, 12), dtype=np.uint16))
    exif = Image.Exif()
    exif[MAKE] = "Hasselblad"
    buffer = io.BytesIO()
    gray_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    gray16.save(buffer, "PNG", icc_profile=gray_icc, exif=exif.tobytes())
    job = submit(user, buffer.getvalue(), model="bicubic", scale=2).json()
    run(job["id"])
    result = Image.open(io.BytesIO(user.get(f"/v1/jobs/{job['id']}/result").content))
    result.load()
    assert result.mode.startswith("I") and result.size == (24, 20)  # still 16-bit
    assert result.info.get("icc_profile") == gray_icc
    assert result.getexif().get(MAKE) == "Hasselblad"
