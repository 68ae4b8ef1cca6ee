"""Validating, decoding and encoding user images, with Pillow behind an explicit format allow-list.

Validation runs before anything is charged or stored; decoding turns any supported mode into float32
pixels in [0, 1] with EXIF orientation applied; encoding writes the result at the input's bit depth.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import png
from PIL import Image, UnidentifiedImageError

from app.errors import DomainError
from app.media.errors import AnimatedImage, CorruptImage, EmptyFile, ImageTooLarge, UnsupportedImage

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
OUTPUT_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
# The longest side each output format can hold: WebP's is a 14-bit field (Pillow: "Image size exceeds
# WebP limit of 16383 pixels"), libjpeg's JPEG_MAX_DIMENSION is 65,500 (Pillow: "Maximum supported image
# dimension is 65500 pixels"), PNG's a 31-bit field.
MAX_OUTPUT_SIDE = {"png": 2**31 - 1, "jpeg": 65_500, "webp": 16_383}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class ImageInfo:
    """What the header says about an upload, as shown in the job's `input`."""

    width: int
    height: int
    format: str
    mode: str


@dataclass
class DecodedImage:
    """Pixels and what to keep of the file: HxWxC, C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.

    Decoded pixels are float32 in [0, 1] (what a model takes); pixels to encode may also be already
    quantised uint8 or uint16 (what the engine's banded output is).
    """

    pixels: np.ndarray
    bit_depth: int
    icc_profile: bytes | None
    exif: bytes | None = None


def _looks_like_allowed_format(data: bytes) -> bool:
    """The file starts like a supported format (so it is damaged, not of another kind)."""
    return data.startswith(
        (_PNG_SIGNATURE, b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
    ) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _open(data: bytes) -> Image.Image:
    if not data:
        raise EmptyFile()
    try:
        return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        if _looks_like_allowed_format(data):
            raise CorruptImage() from exc
        raise UnsupportedImage() from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge() from exc
    except Exception as exc:  # damaged headers fail in many ways inside Pillow's plugins
        raise CorruptImage() from exc


def read_header(data: bytes, max_input_pixels: int) -> ImageInfo:
    """What an upload is, from its header alone: format allowed, one frame, pixel count within the limit.

    Cheap whatever the file holds (nothing is decoded, and a multi-page TIFF is not walked page by page),
    so a request can be priced and its balance checked before the costly `check_decodes`.
    """
    image = _open(data)
    width, height = image.size
    if width < 1 or height < 1:
        raise CorruptImage("The image has no pixels.")
    if width * height > max_input_pixels:
        raise ImageTooLarge(
            f"The image is {width}x{height}; at most {max_input_pixels:,} pixels are accepted."
        )
    try:
        # `is_animated` looks at the second frame only (n_frames walks them all: quadratic on TIFF).
        if getattr(image, "is_animated", False):
            raise AnimatedImage()
        orientation = _orientation(image)
    except DomainError:
        raise
    except Exception as exc:  # a damaged file makes Pillow's plugins fail in many ways (IndexError in GIF...)
        raise CorruptImage() from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(width=width, height=height, format=(image.format or "").lower(), mode=image.mode)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation as far as the header goes, without decoding any pixels.

    Pillow's PNG `getexif` decodes the whole image to look for an eXIf chunk after the pixel data; here a
    PNG's orientation comes from an eXIf chunk before it (where the PNG specification puts it). The header
    check and the worker's decode both read it this way, so they agree on the output size.
    """
    if image.format == "PNG":
        exif = Image.Exif()
        raw = image.info.get("exif")
        if isinstance(raw, bytes):
            exif.load(raw)
        return int(exif.get(_ORIENTATION_TAG, 1))
    return int(image.getexif().get(_ORIENTATION_TAG, 1))


def check_decodes(data: bytes) -> None:
    """Decode the pixels once (refusing damaged data and decompression bombs); the costly half of a probe."""
    image = _open(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge() from exc
    except Exception as exc:
        raise CorruptImage() from exc


def probe_image(data: bytes, max_input_pixels: int) -> ImageInfo:
    """Check an upload fully: its header (`read_header`), then that it decodes (`check_decodes`)."""
    info = read_header(data, max_input_pixels)
    check_decodes(data)
    return info


def _png_bit_depth(data: bytes) -> int:
    return data[24] if data.startswith(_PNG_SIGNATURE) and len(data) > 25 else 8


def _decode_png16(data: bytes) -> np.ndarray:
    """16-bit colour PNGs, which Pillow would reduce to 8 bits."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    planes = int(info["planes"])
    pixels = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    return pixels.astype(np.float32) / 65535.0


def _to_float(image: Image.Image) -> tuple[np.ndarray, int]:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        return (np.clip(values, 0, 65535) / 65535.0).astype(np.float32)[:, :, None], 16
    if mode == "F":
        return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)[:, :, None], 16
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"), dtype=np.float32)[:, :, None] / 255.0, 8
    if mode in ("LA", "La"):
        return np.asarray(image.convert("LA"), dtype=np.float32) / 255.0, 8
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif mode not in ("RGB", "RGBA"):
        # CMYK, YCbCr, LAB, HSV, RGBX: colour without alpha (the "A" of LAB is its a* axis, not alpha:
        # taken as alpha, Pillow's LAB to RGBA made every pixel transparent); RGBa: premultiplied alpha.
        image = image.convert("RGBA" if mode == "RGBa" else "RGB")
    return np.asarray(image, dtype=np.float32) / 255.0, 8


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """EXIF orientation 1-8 as numpy operations, so it applies to every bit depth alike."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(pixels)) if op else pixels


def decode_image(data: bytes) -> DecodedImage:
    """Decode an image that passed `probe_image` into model-ready float pixels, orientation applied."""
    image = _open(data)
    try:
        orientation = _orientation(image)  # before load, which may read a late eXIf chunk
        image.load()
        icc = image.info.get("icc_profile")
        exif_tags = image.getexif()
        exif = exif_tags.tobytes() if len(exif_tags) else None
        if image.format == "PNG" and _png_bit_depth(data) == 16 and image.mode in ("RGB", "RGBA", "LA"):
            pixels, depth = _decode_png16(data), 16
        else:
            pixels, depth = _to_float(image)
    except Exception as exc:  # any failure of the decoder on damaged data, as in probe_image
        raise CorruptImage() from exc
    return DecodedImage(_apply_orientation(pixels, orientation), bit_depth=depth, icc_profile=icc, exif=exif)


def default_output_format(input_format: str) -> str:
    return input_format if input_format in OUTPUT_FORMATS else "png"


def encode_image(image: DecodedImage, fmt: str, quality: int = 92) -> bytes:
    """Write pixels as PNG (8 or 16 bit, alpha kept), JPEG (alpha flattened on white) or WebP."""
    pixels = image.pixels
    channels = pixels.shape[2]
    buffer = io.BytesIO()
    if fmt == "png" and image.bit_depth == 16:
        _write_png16(buffer, _quantised(pixels, np.uint16))
        return _with_png_metadata(buffer.getvalue(), image.icc_profile, image.exif)
    if fmt == "jpeg" and channels in (2, 4):
        array = _flattened_on_white(pixels)
        channels -= 1
    else:
        array = _quantised(pixels, np.uint8)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    out = Image.fromarray(array[:, :, 0] if channels == 1 else array, mode=mode)
    if fmt == "webp" and mode in ("L", "LA"):
        out = out.convert("RGBA" if mode == "LA" else "RGB")
    options: dict[str, object] = {}
    if image.icc_profile:
        options["icc_profile"] = image.icc_profile
    if image.exif:
        options["exif"] = image.exif
    if fmt in ("jpeg", "webp"):
        options["quality"] = quality
    out.save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()


_FLATTEN_ROWS = 256


def _quantised(pixels: np.ndarray, dtype: type[np.uint8] | type[np.uint16]) -> np.ndarray:
    """Integer pixels of `dtype`: floats in [0, 1] rounded, integers of that depth passed through."""
    if pixels.dtype == dtype:
        return pixels
    if pixels.dtype.kind != "f":
        raise ValueError(f"{pixels.dtype} pixels cannot be written as {np.dtype(dtype)}")
    top = 65535.0 if dtype == np.uint16 else 255.0
    quantised: np.ndarray = np.rint(np.clip(pixels, 0.0, 1.0) * top).astype(dtype)
    return quantised


def _flattened_on_white(pixels: np.ndarray) -> np.ndarray:
    """8-bit colour composited over white, a band of rows at a time (for formats without alpha)."""
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(pixels.dtype, 1.0)
    height, width, channels = pixels.shape
    out = np.empty((height, width, channels - 1), dtype=np.uint8)
    for row0 in range(0, height, _FLATTEN_ROWS):
        rows = pixels[row0 : row0 + _FLATTEN_ROWS].astype(np.float32) / top
        colour, alpha = rows[:, :, :-1], rows[:, :, -1:]
        out[row0 : row0 + _FLATTEN_ROWS] = np.rint(np.clip(colour * alpha + (1.0 - alpha), 0.0, 1.0) * 255.0)
    return out


def _write_png16(buffer: io.BytesIO, array: np.ndarray) -> None:
    height, width, channels = array.shape
    writer = png.Writer(width, height, greyscale=channels in (1, 2), alpha=channels in (2, 4), bitdepth=16)
    writer.write(buffer, array.reshape(height, width * channels))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _with_png_metadata(data: bytes, icc_profile: bytes | None, exif: bytes | None) -> bytes:
    """Add iCCP and eXIf chunks right after IHDR (pypng writes neither; they must precede the image data)."""
    chunks = b""
    if icc_profile:
        chunks += _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc_profile))
    if exif:
        chunks += _png_chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00"))
    header_end = len(_PNG_SIGNATURE) + 8 + 13 + 4  # signature, then IHDR: length, type, 13 bytes, CRC
    return data[:header_end] + chunks + data[header_end:]
