"""Hostile and awkward inputs, made in code: each with the outcome a careful service must give."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin

from tests.support import png_bytes


@dataclass(frozen=True)
class Case:
    """An upload and what must happen: refused with (status, code), or upscaled x2 to `size`."""

    name: str
    make: Callable[[], bytes]
    status: int = 202
    code: str | None = None
    size: tuple[int, int] | None = None
    filename: str = "upload.png"
    content_type: str = "image/png"


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _photo(width: int = 24, height: int = 16, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(width * 1000 + height)
    channels = {"RGB": 3, "RGBA": 4}.get(mode)
    if channels is None:
        return Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8)).convert(mode)
    return Image.fromarray(rng.integers(0, 256, (height, width, channels), dtype=np.uint8), mode)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a few bytes of image data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _bad_crc_png() -> bytes:
    data = bytearray(png_bytes(16, 16))
    data[29] ^= 0xFF  # inside the IHDR CRC
    return bytes(data)


def _jpeg_bomb() -> bytes:
    """A JPEG whose frame header claims 60000 x 60000 pixels."""
    data = bytearray(_save(_photo(16, 16), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def _gif_bomb() -> bytes:
    data = bytearray(_save(Image.new("P", (8, 8)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    data[data.find(b"\x2c") + 5 : data.find(b"\x2c") + 9] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (12, 12), (i * 70, 40, 200 - i * 60)) for i in range(3)]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    return _save(_photo(30, 20), "JPEG", exif=exif.tobytes())


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (20, 10))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 10, 10))
    return _save(image, "PNG", transparency=0)


def _sixteen_bit(mode: str) -> bytes:
    import png

    rng = np.random.default_rng(16)
    planes = 1 if mode == "gray" else 3
    rows = rng.integers(0, 65536, (10, 12 * planes), dtype=np.uint16)
    buffer = io.BytesIO()
    png.Writer(12, 10, greyscale=planes == 1, bitdepth=16).write(buffer, rows.tolist())
    return buffer.getvalue()


def _huge_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * 3_000_000)
    return _save(_photo(10, 10), "PNG", pnginfo=info)


def _gif_html_polyglot() -> bytes:
    """A valid GIF with an HTML page appended: must come back as a clean re-encoded image."""
    return _save(_photo(12, 12).convert("P"), "GIF") + b"<html><script>alert(1)</script></html>"


def _multipage_tiff() -> bytes:
    pages = [_photo(10, 10), _photo(10, 10).rotate(90)]
    return _save(pages[0], "TIFF", save_all=True, append_images=pages[1:])


CASES = [
    Case("empty", lambda: b"", 400, "empty_file"),
    Case("plain-text", lambda: b"just some words\n" * 20, 415, "unsupported_image"),
    Case(
        "svg",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
        415,
        "unsupported_image",
    ),
    Case(
        "html",
        lambda: b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
        415,
        "unsupported_image",
    ),
    Case("pdf", lambda: b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", 415, "unsupported_image"),
    Case("ico", lambda: _save(_photo(16, 16), "ICO"), 415, "unsupported_image"),
    Case("elf-binary", lambda: b"\x7fELF\x02\x01\x01" + bytes(200), 415, "unsupported_image"),
    Case("truncated-png-header", lambda: png_bytes()[:30], 422, "corrupt_image"),
    Case("truncated-png-data", lambda: png_bytes(64, 64)[:-100], 422, "corrupt_image"),
    Case("png-bad-crc", _bad_crc_png, 422, "corrupt_image"),
    Case("png-zero-width", lambda: _png_header_only(0, 10), 422, "corrupt_image"),
    Case("truncated-jpeg", lambda: _save(_photo(64, 64), "JPEG")[:300], 422, "corrupt_image"),
    Case("jpeg-markers-only", lambda: b"\xff\xd8\xff\xd9", 422, "corrupt_image"),
    Case("truncated-webp", lambda: _save(_photo(64, 64), "WEBP")[:60], 422, "corrupt_image"),
    Case("png-bomb", lambda: _png_header_only(40000, 40000), 422, "image_too_large"),
    Case("jpeg-bomb", _jpeg_bomb, 422, "image_too_large"),
    Case("gif-bomb", _gif_bomb, 422, "image_too_large"),
    Case("animated-gif", lambda: _animated("GIF"), 415, "animated_image"),
    Case("animated-webp", lambda: _animated("WEBP"), 415, "animated_image"),
    Case("animated-png", lambda: _animated("PNG"), 415, "animated_image"),
    Case("multipage-tiff", _multipage_tiff, 415, "animated_image"),
    Case("gif-html-polyglot", _gif_html_polyglot, size=(24, 24)),
    Case("cmyk-jpeg", lambda: _save(_photo(20, 14).convert("CMYK"), "JPEG"), size=(40, 28), filename="c.jpg"),
    Case("16-bit-gray-png", lambda: _sixteen_bit("gray"), size=(24, 20)),
    Case("16-bit-rgb-png", lambda: _sixteen_bit("rgb"), size=(24, 20)),
    Case("palette-transparency", _palette_with_transparency, size=(40, 20)),
    Case("gray-alpha-png", lambda: _save(_photo(9, 7, "LA"), "PNG"), size=(18, 14)),
    Case("exif-rotated-jpeg", _exif_rotated, size=(40, 60), filename="r.jpg", content_type="image/jpeg"),
    Case(
        "png-named-jpg",
        lambda: png_bytes(10, 8),
        size=(20, 16),
        filename="photo.jpg",
        content_type="image/jpeg",
    ),
    Case("png-sent-as-gif", lambda: png_bytes(10, 8), size=(20, 16), content_type="image/gif"),
    Case(
        "png-no-extension",
        lambda: png_bytes(10, 8),
        size=(20, 16),
        filename="blob",
        content_type="application/octet-stream",
    ),
    Case("huge-text-metadata", _huge_metadata, size=(20, 20)),  # accepted; the 3 MB comment is not kept
    Case("one-pixel", lambda: png_bytes(1, 1), size=(2, 2)),
    Case("tall-1x4000", lambda: png_bytes(1, 4000), size=(2, 8000)),
    Case("wide-4000x1", lambda: png_bytes(4000, 1), size=(8000, 2)),
    Case("bmp", lambda: _save(_photo(11, 9), "BMP"), size=(22, 18), filename="a.bmp"),
    Case("tiff", lambda: _save(_photo(11, 9), "TIFF"), size=(22, 18), filename="a.tiff"),
    Case("webp-lossless-alpha", lambda: _save(_photo(11, 9, "RGBA"), "WEBP", lossless=True), size=(22, 18)),
    Case("progressive-jpeg", lambda: _save(_photo(33, 17), "JPEG", progressive=True), size=(66, 34)),
    Case("png-trailing-garbage", lambda: png_bytes(10, 8) + b"GARBAGE" * 100, size=(20, 16)),
]
