"""What an upload can make the API spend before it is refused: cheap header checks first, bounded decodes."""

from __future__ import annotations

import struct
import threading
import time
import zlib

import pytest

from app.media.errors import AnimatedImage
from app.media.image_codec import read_header
from tests.support import png_bytes

PASSWORD = "correct horse"


def many_page_tiff(pages: int) -> bytes:
    """A little-endian TIFF of `pages` one-pixel gray pages, each IFD pointing to the next."""
    entries = 8
    ifd_size = 2 + 12 * entries + 4
    first_ifd = 8
    pixel_at = first_ifd + pages * ifd_size
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd))
    for page in range(pages):
        nxt = first_ifd + (page + 1) * ifd_size if page + 1 < pages else 0
        tags = [
            (256, 3, 1, 1),  # ImageWidth
            (257, 3, 1, 1),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: black is zero
            (273, 4, 1, pixel_at),  # StripOffsets
            (278, 3, 1, 1),  # RowsPerStrip
            (279, 4, 1, 1),  # StripByteCounts
        ]
        out += struct.pack("<H", entries)
        for tag, kind, count, value in tags:
            out += struct.pack("<HHII", tag, kind, count, value)
        out += struct.pack("<I", nxt)
    out += b"\x80"
    return bytes(out)


def test_a_tiff_of_forty_thousand_pages_is_refused_with_nothing_charged(signup):
    """The time it takes is the next test's, measured against a smaller file in the same run, not a bound in
    seconds (walking the pages was quadratic: 80,000 of them took 36 s)."""
    user = signup()
    response = user.post(
        "/v1/jobs",
        files={"file": ("pages.tiff", many_page_tiff(40_000), "image/tiff")},
        data={"model": "bicubic", "scale": "2"},
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "animated_image"
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert user.get("/v1/jobs").json()["jobs"] == []


def test_the_header_check_does_not_walk_the_pages():
    """Twenty times the pages, nowhere near twenty times the time (a walk would be 400 times)."""
    small, large = many_page_tiff(2_000), many_page_tiff(40_000)

    def best_of_three(data: bytes) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            with pytest.raises(AnimatedImage):
                read_header(data, 10**6)
            times.append(time.perf_counter() - started)
        return min(times)

    assert best_of_three(large) < 10 * best_of_three(small) + 0.05


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header for width x height, its pixel data cut short: priced from the header, fails to decode."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * (1 + 3 * width) * 2)[:-6])
        + chunk(b"IEND", b"")
    )


def test_the_balance_is_checked_before_the_image_is_decoded(configure, signup):
    configure(signup_credits="0")
    broke = signup()
    # 5000 x 5000 by its header, damaged after the first row: decoding it would answer 422 corrupt_image.
    response = broke.post(
        "/v1/jobs",
        files={"file": ("big.png", _png_claiming(5000, 5000), "image/png")},
        data={"model": "bicubic", "scale": "2"},
    )
    assert response.status_code == 402, response.text
    assert response.json()["error"]["code"] == "insufficient_credits"


def test_a_damaged_image_is_still_refused_before_charging_when_it_can_be_paid(signup):
    user = signup()
    response = user.post(
        "/v1/jobs",
        files={"file": ("big.png", _png_claiming(300, 300), "image/png")},
        data={"model": "bicubic", "scale": "2"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "corrupt_image"
    assert user.get("/v1/account").json()["credits_balance"] == 10


def test_decodes_beyond_the_budget_are_answered_503_and_charge_nothing(configure, signup):
    configure(decode_concurrency="1")
    user = signup()
    budget = user.app.state.decode_budget  # type: ignore[attr-defined]
    budget.wait_seconds = 0.2
    held, release = threading.Event(), threading.Event()

    def occupy() -> None:
        with budget.hold(100):
            held.set()
            release.wait(10)

    occupant = threading.Thread(target=occupy)
    occupant.start()
    try:
        held.wait(5)
        response = user.post(
            "/v1/jobs",
            files={"file": ("a.png", png_bytes(16, 16), "image/png")},
            data={"model": "bicubic", "scale": "2"},
            headers={"Idempotency-Key": "busy-1"},
        )
    finally:
        release.set()
        occupant.join()
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "server_busy"
    assert int(response.headers["retry-after"]) >= 1
    assert user.get("/v1/account").json()["credits_balance"] == 10
    assert user.get("/v1/jobs").json()["jobs"] == []
    # The key was released: the same request succeeds once there is room.
    again = user.post(
        "/v1/jobs",
        files={"file": ("a.png", png_bytes(16, 16), "image/png")},
        data={"model": "bicubic", "scale": "2"},
        headers={"Idempotency-Key": "busy-1"},
    )
    assert again.status_code == 202, again.text
