"""Byte-level fuzzing of the image path (hypothesis, bounded): every mutated file is refused with a clear
error before any charge, or decodes to exactly the pixels its header promised. No crash, no hang."""

from __future__ import annotations

import base64
import io
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from app.errors import DomainError
from app.media.image_codec import decode_image, probe_image
from tests.mutations import mutated

pytestmark = pytest.mark.slow
MAX_PIXELS = 4_000_000


def _sample(fmt: str, mode: str = "RGB", **options: object) -> bytes:
    rng = np.random.default_rng(len(fmt))
    image = Image.fromarray(rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


SEEDS = [
    _sample("PNG"),
    _sample("PNG", "RGBA"),
    _sample("PNG", "P"),
    _sample("JPEG", quality=80),
    _sample("JPEG", progressive=True),
    _sample("WEBP", lossless=True),
    _sample("WEBP", quality=70),
    _sample("GIF", "P"),
    _sample("BMP"),
    _sample("TIFF", compression="tiff_lzw"),
]


@given(data=mutated(SEEDS, max_edits=6, duplicate=True))
@settings(max_examples=400, deadline=5000, database=None, suppress_health_check=list(HealthCheck))
def test_mutated_images_are_refused_clearly_or_decoded_exactly(data: bytes):
    try:
        info = probe_image(data, MAX_PIXELS)
    except DomainError as refused:
        assert 400 <= refused.status_code < 500 and refused.code and refused.detail
        return
    try:
        decoded = decode_image(data)
    except DomainError as refused:  # damage the probe could not see, found while decoding in the worker
        assert 400 <= refused.status_code < 500 and refused.code
        return
    assert decoded.pixels.shape[:2] in ((info.height, info.width), (info.width, info.height))
    assert decoded.pixels.dtype == np.float32 and np.isfinite(decoded.pixels).all()


# Found by this fuzzer: a GIF whose header repeats made Pillow's GIF plugin raise IndexError (a 500 before).
DOUBLED_GIF_HEADER = zlib.decompress(
    base64.b64decode(
        "eNrVU/1Pk0ccP0prW6yUl0oRS21rpSighUPxpXEt0tIixtYZZUsWpcOzvm3Q6cY242gpUJShIGOc4gKPzm2ZIhizucUs5U0g"
        "ngkQl2niDwxdYvypOn5wCcnt7sn+iX1/eJ7ne9+7z9vlKfe4NpdUrwLl/721oAXwggAgADAABAAq9hACDAFhHwhgBAgCVNwB"
        "MUAYYAwIBlQ8AAlABGACCPumAFNARAjxKNsOxWWOyApBiCEkEFI2R7xHCGIECYIUcUo2RhhiDAmGVFTAdiMCMYGEQCqeRBRi"
        "CgmFVERBXBGTwNg4IuIAbAtb5uisMEIEIYq4E0bGeowRwYiKxhg3G2OCCEFU1MG2YoqIaBhy98wu88fNQy6WqWNymASeBeTw"
        "DI8BsEM8Gsg7XgRjKibFzDA+1hOCqRgc88bo2ZhQTMUcIc+YzViKPFPII+EnCTfKI4bcBAciXBpPHHJOjks4DL8AyIechhUV"
        "82KWGCVrKOV3y7gpu2EeP8ub6yA8RQp4YNw55hnwW4TcDZdIuEB+qZDTcsVUjB7xZY7LCvyfK58/+L9gVzAj2zy5vz97uLYs"
        "+ltvHZhbItfss56Oendk4JJwe73xo6bxjG15s7HcsUYPeOv7o27hzpFOg+3YpmW+kw0Tt4pq8w+lBRVnu94zSwJrfdfacnI/"
        "G5gL/J3bZFF3B2Vbl4dmtTnh9YUd6Vd9RuWxtMn5oKzSXC4M1IR9zbL+d/cHemad7090m9Wv48Lzl05Nrjf4T/2r+cSIExad"
        "Shh/3pJlWz/4yAr/0kiLNgwEGtJ3PGze7t3+5ZPYkXHdLv9CTXXfddeN7QeipwWn6e2bpu+Ep+5vR8LRrE9UR+zWCV+nrmKT"
        "cQt4adfkbK5I6fC7mjuzu7LGpg81PWjcf/nkE0D7ZhPSViU5yOA7tR6pROs6eqX62Q+7VmrUbW9aX12fsGjP3EtpVXZWzdj1"
        "ldPTbvXuvTM7C/IDwmjBtbtFHnPrDUl5QVVK51JldyCh0Xwo3x7Tt99LS0runrTKdRcv1LlX/PgoPmU88MJXmuCNzDarzy8E"
        "J5Odx00jGmvUJ7euMNzxnPim2DBl3Go3hQw7X4CR9KsGXzjzcI/gkrjshphx3ePactVX3nlH5teK0qnMD290SLLXmYNuy6nY"
        "a7mpvXj+vhZ1xe1r7j7tlyXWZwrj+aV9exJO7beFzmb3xIQKvbfhtiLV2zv0KOnnyXi4oHfBKsv74PGQVP7TIJ15oFQrHEsk"
        "ppOh6Jp6TaFy/eU30xHV6vhwq76kckS5IbnSIc3a03Zw1HjRlhpJvrmQ0qTdGHNUqIYCfmWGfNB4Lh0d7FdKzqisYd3uC7X3"
        "1dU1gmtl+5xfpjn/NM1huJVpj+RsUaSGlg/VxJeuuGRNCcvzbAed2o3uflfO1nvDrZbiMkck9YS1bnRtyXGTQ9/TJ4ytvFQc"
        "alJ6BvsaLKppydjqvDvALW2zFe7UpdlC5Yqji4NO3aeqwmHzF/V7XEtcRIjoy+z+CLiyGA/nH64pkih3k+EJ34kGQbGhqup1"
        "gqZY41AkRkHdsDS1q9T5S2/VkFJ1tnhfk9xisgqjf1Rvvj1iXrbDl6R27PXL9OHeGXnGgKYurFu6OPdAXvjcLkn6fDGlZV2r"
        "WZDKPx7riCh/re2IZOdM/zlpOW/2Txn1j2ddiY22YERRJpWCbf8C2QVuUA=="
    )
)


def test_a_gif_that_crashed_pillow_is_a_corrupt_image():
    with pytest.raises(DomainError) as refused:
        probe_image(DOUBLED_GIF_HEADER, MAX_PIXELS)
        decode_image(DOUBLED_GIF_HEADER)
    assert refused.value.code == "corrupt_image"
