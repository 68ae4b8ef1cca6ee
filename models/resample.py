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


PIL_FILTERS = {
    Filter.NEAREST: Image.Resampling.NEAREST,
    Filter.BILINEAR: Image.Resampling.BILINEAR,
    Filter.BICUBIC: Image.Resampling.BICUBIC,
    Filter.LANCZOS: Image.Resampling.LANCZOS,
}


def resize(image: np.ndarray, width: int, height: int, method: Filter = Filter.BICUBIC) -> np.ndarray:
    """Resize a float32 HxWxC image to exactly width x height, channel by channel in 32-bit float.

    Pillow's "F" mode keeps full precision (16-bit inputs stay exact) and its filters are the reference
    implementations; values are clipped to [0, 1] because bicubic and Lanczos overshoot at edges.
    """
    if image.ndim != 3:
        raise ValueError(f"expected an HxWxC array, got shape {image.shape}")
    if image.shape[0] == height and image.shape[1] == width:
        return image.astype(np.float32, copy=True)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(image[:, :, c], dtype=np.float32)).resize(
                (width, height), PIL_FILTERS[method]
            ),
            dtype=np.float32,
        )
        for c in range(image.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0)
