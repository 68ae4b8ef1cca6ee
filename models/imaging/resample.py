"""Float-precision resampling of HWC images: the classical models and the glue between model passes."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from PIL import Image


class Filter(StrEnum):
    """Classical interpolation filters, named as the public model ids."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    LANCZOS = "lanczos"


_PIL_FILTERS = {
    Filter.NEAREST: Image.Resampling.NEAREST,
    Filter.BILINEAR: Image.Resampling.BILINEAR,
    Filter.BICUBIC: Image.Resampling.BICUBIC,
    Filter.LANCZOS: Image.Resampling.LANCZOS,
}


def resize_region(
    image: np.ndarray, width: int, rows: int, top: float, bottom: float, method: Filter
) -> np.ndarray:
    """Resize so that the sub-rows [top, bottom) of an HxWxC float32 image become `rows` rows of `width`.

    Channel by channel in Pillow's "F" mode: full precision (16-bit inputs stay exact), the reference
    filters, and a sub-pixel box, so that a band of a resize can be computed from a crop
    (models.imaging.bands). Not clipped.
    """
    box = (0.0, top, float(image.shape[1]), bottom)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32)).resize(
                (width, rows), _PIL_FILTERS[method], box=box
            ),
            dtype=np.float32,
        )
        for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=2)


def resize(image: np.ndarray, width: int, height: int, method: Filter = Filter.BICUBIC) -> np.ndarray:
    """Resize a float32 HxWxC image to exactly width x height, clipped to [0, 1].

    Values are clipped because bicubic and Lanczos overshoot at edges.
    """
    if image.ndim != 3:
        raise ValueError(f"expected an HxWxC array, got shape {image.shape}")
    if image.shape[0] == height and image.shape[1] == width:
        return image.astype(np.float32, copy=True)
    resized = resize_region(image, width, height, 0.0, float(image.shape[0]), method)
    return np.clip(resized, 0.0, 1.0, out=resized)
