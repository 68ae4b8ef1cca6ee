"""Where an image holds faces: a soft mask over each frontal face, found offline by OpenCV's Haar cascade.

The detail models draw texture wherever the input allows it, and on a face that reads as age: creases beside
the mouth, mottled skin, hard eyelids (docs/faces.png). A photographer keeps skin calm, so the photo preset
mixes its faithful end back in over faces (models/recipe.py). The detector is the classical frontal-face
cascade from Debian's opencv-data (`haarcascade_frontalface_alt2.xml`, Intel's licence, in the package's
copyright file): no weights from a hub, and a false find only costs a little detail where it lands. Where
the file or OpenCV's cascade module is missing, no face is found and the preset's detail applies everywhere.

The mask is an ellipse over each found box, grown to take in the hairline and the chin, with a soft edge
(a smoothstep over a third of its radius), so the calmer face meets the detailed rest without a seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

CASCADE = Path("/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml")
MIN_FACE = 20  # input pixels a side: the cascade's own window, the smallest face it can find
LONGEST_SIDE = 1024  # faces are looked for on the image shrunk to this, if larger (0.5 s at 2048 px)
NEIGHBOURS = 4  # overlapping finds that confirm a face: fewer finds textures as faces, more misses some
# The ellipse over a found box, as shares of the box's width and height (semi-axes): the box holds the eyes
# to the mouth; the hair above and the chin below have skin texture too.
ELLIPSE = (0.62, 0.8)
FEATHER = 0.35  # the soft edge, as a share of the ellipse's radius


@dataclass(frozen=True)
class FaceRegions:
    """A soft mask (float32, the input's size, 1 on faces) and the face boxes found (input pixels, x, y,
    width, height)."""

    mask: np.ndarray
    boxes: tuple[tuple[int, int, int, int], ...]


@lru_cache(maxsize=1)
def _cascade(path: Path) -> Any | None:
    """OpenCV's cascade classifier from `path`, or None where the file or the module is missing."""
    try:
        import cv2
    except ImportError:
        return None
    if not path.is_file() or not hasattr(cv2, "CascadeClassifier"):
        return None
    classifier = cv2.CascadeClassifier(str(path))
    return None if classifier.empty() else classifier


def faces_available(path: Path = CASCADE) -> bool:
    """Whether faces can be looked for here (OpenCV's cascade module and the cascade file)."""
    return _cascade(path) is not None


def find_faces(rgb: np.ndarray, path: Path = CASCADE) -> FaceRegions:
    """The frontal faces of an HxWxC float image in [0, 1]: a feathered mask and the boxes."""
    height, width = rgb.shape[:2]
    mask = np.zeros((height, width), np.float32)
    classifier = _cascade(path)
    if classifier is None or min(height, width) < MIN_FACE:
        return FaceRegions(mask, ())
    import cv2

    gray = rgb if rgb.ndim == 2 else rgb[:, :, :3].mean(axis=2) if rgb.shape[2] >= 3 else rgb[:, :, 0]
    gray8 = np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)
    shrink = max(1.0, max(height, width) / LONGEST_SIDE)
    if shrink > 1.0:
        size = (max(1, round(width / shrink)), max(1, round(height / shrink)))
        gray8 = cv2.resize(gray8, size, interpolation=cv2.INTER_AREA)
    gray8 = cv2.equalizeHist(gray8)
    found = classifier.detectMultiScale(
        gray8, scaleFactor=1.1, minNeighbors=NEIGHBOURS, minSize=(MIN_FACE, MIN_FACE)
    )
    boxes = tuple(
        (round(x * shrink), round(y * shrink), round(w * shrink), round(h * shrink)) for x, y, w, h in found
    )
    for box in boxes:
        np.maximum(mask, _ellipse(box, height, width), out=mask)
    return FaceRegions(mask, boxes)


def _ellipse(box: tuple[int, int, int, int], height: int, width: int) -> np.ndarray:
    """The soft ellipse over one face box, as a full-size mask."""
    x, y, w, h = box
    cx, cy = x + w / 2.0, y + h / 2.0 + 0.05 * h  # a face's box sits a little high of its middle
    rx, ry = ELLIPSE[0] * w, ELLIPSE[1] * h
    ys = (np.arange(height, dtype=np.float32) + 0.5 - cy) / ry
    xs = (np.arange(width, dtype=np.float32) + 0.5 - cx) / rx
    radius = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    inside = np.clip((1.0 - radius) / FEATHER, 0.0, 1.0)
    smooth: np.ndarray = (inside * inside * (3.0 - 2.0 * inside)).astype(np.float32)
    return smooth
