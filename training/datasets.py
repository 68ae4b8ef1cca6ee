"""The images our networks train and validate on, split by image and fixed, for training, bench and tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage import data

# Split by image, fixed, so validation never sees a training pixel. skimage's "cat" is the same picture
# as "chelsea", so it is left out of training too.
TRAIN_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "rocket": data.rocket,
    "immunohistochemistry": data.immunohistochemistry,
    "hubble_deep_field": data.hubble_deep_field,
    "retina": data.retina,
    "colorwheel": data.colorwheel,
    "motorcycle_left": lambda: np.asarray(data.stereo_motorcycle()[0]),  # type: ignore[no-untyped-call]
    "coins": data.coins,
    "camera": data.camera,
    "moon": data.moon,
    "text": data.text,
    "clock": data.clock,
    "cell": data.cell,
    "brick": data.brick,
    "grass": data.grass,
    "gravel": data.gravel,
}
VALIDATION_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": data.astronaut,
    "coffee": data.coffee,
    "chelsea": data.chelsea,
    "page": data.page,
}


def load_rgb(loader: Callable[[], np.ndarray]) -> np.ndarray:
    """Load a bundled image as float32 HxWx3 RGB in [0, 1]; gray is repeated, alpha dropped."""
    image = np.asarray(loader())
    scaled = image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if scaled.ndim == 2:
        scaled = np.repeat(scaled[:, :, None], 3, axis=2)
    return np.ascontiguousarray(scaled[:, :, :3])
