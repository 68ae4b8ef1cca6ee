"""Keeping flat areas exactly flat: GAN models add faint noise and drift to large uniform regions.

Wherever the input is uniform over a 5x5 neighbourhood (within one 8-bit step), the output takes the input's
own value, so white stays 255 and a flat colour stays flat; textured areas keep the model's result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_RADIUS = 2
_TOLERANCE = 1.0 / 255.0


def _sliding(image: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """`reduce` (np.maximum or np.minimum) over a (2r+1)^2 window per channel, with edge replication.

    Separable: along columns, then along rows, 2 x 2r passes where the square window took (2r+1)^2.
    """
    height, width = image.shape[:2]
    padded = np.pad(image, ((_RADIUS, _RADIUS), (_RADIUS, _RADIUS), (0, 0)), mode="edge")
    across = reduce(padded[:, :width], padded[:, 1 : 1 + width])
    for dx in range(2, 2 * _RADIUS + 1):
        reduce(across, padded[:, dx : dx + width], out=across)
    result = reduce(across[:height], across[1 : 1 + height])
    for dy in range(2, 2 * _RADIUS + 1):
        reduce(result, across[dy : dy + height], out=result)
    return result


def _local_range(image: np.ndarray) -> np.ndarray:
    """Max minus min over a (2r+1)^2 window, the largest over the channels, with edge replication."""
    spread: np.ndarray = (_sliding(image, np.maximum) - _sliding(image, np.minimum)).max(axis=2)
    return spread


def flat_mask(source: np.ndarray) -> np.ndarray | None:
    """Where the source is flat (H x W bool), or None where nothing is."""
    flat = _local_range(source) <= _TOLERANCE
    return flat if flat.any() else None


def keep_flat_rows(
    source: np.ndarray, flat: np.ndarray | None, rows: np.ndarray, row0: int, scale: int
) -> np.ndarray:
    """Rows [row0, row0 + len(rows)) of a `scale`x upscale, given the source value where it is flat.

    Works on the flat source pixels alone (rows seen as source columns of `scale` pixels): no mask or
    nearest-neighbour image at output resolution.
    """
    if flat is None:
        return rows
    rows = np.ascontiguousarray(rows)
    source_rows = np.arange(row0, row0 + len(rows)) // scale
    out_y, x = np.nonzero(flat[source_rows])
    if len(out_y):
        blocks = rows.reshape(len(rows), flat.shape[1], scale, rows.shape[2])
        blocks[out_y, x] = source[source_rows[out_y], x][:, None, :]
    return rows
