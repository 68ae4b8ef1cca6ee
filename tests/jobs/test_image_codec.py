"""Every kind of input a user uploads decodes correctly, and results are written at the input's depth."""

from __future__ import annotations

import io

import numpy as np
import png
import pytest
from PIL import Image, ImageCms, ImageOps

from app.media.image_codec import DecodedImage, decode_image, encode_image, probe_image


def save(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image", "fmt", "channels", "depth"),
    [
        (Image.new("RGB", (5, 4), (10, 20, 30)), "PNG", 3, 8),
        (Image.new("RGBA", (5, 4), (10, 20, 30, 40)), "PNG", 4, 8),
        (Image.new("L", (5, 4), 77), "PNG", 1, 8),
        (Image.new("LA", (5, 4), (77, 100)), "PNG", 2, 8),
        (Image.new("1", (5, 4), 1), "PNG", 1, 8),
        (Image.new("I;16", (5, 4), 40000), "PNG", 1, 16),
        (Image.new("CMYK", (5, 4), (0, 255, 255, 0)), "JPEG", 3, 8),
        (Image.new("RGB", (5, 4), (200, 100, 50)), "WEBP", 3, 8),
        (Image.new("RGB", (5, 4), (200, 100, 50)), "BMP", 3, 8),
        (Image.new("RGB", (5, 4), (200, 100, 50)), "TIFF", 3, 8),
    ],
    ids=["rgb", "rgba", "gray", "gray-alpha", "bilevel", "gray16", "cmyk-jpeg", "webp", "bmp", "tiff"],
)
def test_modes_decode_to_the_right_layout(image, fmt, channels, depth):
    data = save(image, fmt)
    info = probe_image(data, 10**6)
    assert (info.width, info.height, info.format) == (5, 4, fmt.lower())
    decoded = decode_image(data)
    assert decoded.pixels.shape == (4, 5, channels)
    assert decoded.pixels.dtype == np.float32
    assert decoded.bit_depth == depth
    assert decoded.pixels.min() >= 0.0 and decoded.pixels.max() <= 1.0


def test_cmyk_red_comes_out_red():
    pixels = decode_image(save(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG")).pixels
    red, green, blue = (pixels[..., c].mean() for c in range(3))
    assert red > 0.9 and green < 0.15 and blue < 0.15


def test_palette_transparency_is_kept_as_alpha():
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    decoded = decode_image(save(image, "PNG", transparency=1))
    assert decoded.pixels.shape[2] == 4
    assert decoded.pixels[..., 3].max() == 0.0


def test_sixteen_bit_colour_png_keeps_every_bit():
    rng = np.random.default_rng(1)
    array = rng.integers(0, 65536, (4, 6, 4), dtype=np.uint16)
    buffer = io.BytesIO()
    png.Writer(6, 4, greyscale=False, alpha=True, bitdepth=16).write(buffer, array.reshape(4, 24))
    decoded = decode_image(buffer.getvalue())
    assert decoded.bit_depth == 16
    assert np.array_equal(np.rint(decoded.pixels * 65535).astype(np.uint16), array)
    again = decode_image(encode_image(decoded, "png"))
    assert np.array_equal(np.rint(again.pixels * 65535).astype(np.uint16), array)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    rng = np.random.default_rng(orientation)
    image = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = orientation
    data = save(image, "JPEG", exif=exif.tobytes(), quality=100)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    decoded = decode_image(data).pixels
    assert np.array_equal(np.rint(decoded * 255).astype(np.uint8), expected)
    info = probe_image(data, 10**6)
    assert (info.height, info.width) == expected.shape[:2]


def test_encoding_honours_format_alpha_and_icc():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pixels = np.ones((4, 4, 4), dtype=np.float32)
    pixels[..., 3] = 0.0
    image = DecodedImage(pixels=pixels, bit_depth=8, icc_profile=icc)
    png_out = Image.open(io.BytesIO(encode_image(image, "png")))
    assert png_out.mode == "RGBA" and png_out.getpixel((0, 0)) == (255, 255, 255, 0)
    assert png_out.info.get("icc_profile") == icc
    jpeg_out = Image.open(io.BytesIO(encode_image(image, "jpeg")))
    assert jpeg_out.format == "JPEG" and jpeg_out.mode == "RGB"
    webp_out = Image.open(io.BytesIO(encode_image(image, "webp")))
    assert webp_out.format == "WEBP" and webp_out.mode == "RGBA"
