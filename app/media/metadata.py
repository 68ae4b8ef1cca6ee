"""What metadata a result carries: photographers keep camera EXIF and colour profile, location never leaks.

`default`: ICC profile and camera EXIF kept, GPS removed. `all`: everything kept. `none`: nothing.
In every mode the EXIF orientation is set to 1, because the pixels were already rotated upright.
"""

from __future__ import annotations

from typing import Literal

from PIL import Image

MetadataMode = Literal["default", "all", "none"]
_ORIENTATION = 0x0112
_GPS_IFD = 0x8825


def result_metadata(exif: bytes | None, icc: bytes | None, mode: str) -> tuple[bytes | None, bytes | None]:
    """The (EXIF, ICC) a result is written with, given the input's and the chosen mode."""
    if mode == "none":
        return None, None
    if not exif:
        return None, icc
    tags = Image.Exif()
    tags.load(exif)
    if _ORIENTATION in tags:
        tags[_ORIENTATION] = 1
    if mode == "default" and _GPS_IFD in tags:
        del tags[_GPS_IFD]
    return tags.tobytes(), icc
