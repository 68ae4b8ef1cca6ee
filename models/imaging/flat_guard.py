"""Keeping flat areas exactly flat: GAN models add faint noise and drift to large uniform regions.

Wherever the input is uniform over a 5x5 neighbourhood (within one 8-bit step), the output takes the input's
own value, so white stays 255 and a flat colour stays flat; textured areas keep the model's result.

Both halves run on whatever device holds the tensors (the model's: models/runtimes/tiled_upscaler.py), so a
GPU's output bands are guarded where they are made.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

_RADIUS = 2
_TOLERANCE = 1.0 / 255.0


def _sliding(
    padded: torch.Tensor, height: int, width: int, reduce: Callable[..., torch.Tensor]
) -> torch.Tensor:
    """`reduce` (torch.maximum or torch.minimum) over a (2r+1)^2 window per channel of an edge-padded image.

    Separable, on shifted views: along columns, then along rows, 2 x 2r passes where the square window took
    (2r+1)^2 (torch's max_pool2d over 5 x 5 measured 30x slower on the CPU).
    """
    across = reduce(padded[:, :width], padded[:, 1 : 1 + width])
    for dx in range(2, 2 * _RADIUS + 1):
        reduce(across, padded[:, dx : dx + width], out=across)
    result = reduce(across[:height], across[1 : 1 + height])
    for dy in range(2, 2 * _RADIUS + 1):
        reduce(result, across[dy : dy + height], out=result)
    return result


def _local_range(image: torch.Tensor) -> torch.Tensor:
    """Max minus min over a (2r+1)^2 window, the largest over the channels, with edge replication (H x W)."""
    height, width = image.shape[:2]
    planes = image.permute(2, 0, 1)[None]
    padded = F.pad(planes, (_RADIUS, _RADIUS, _RADIUS, _RADIUS), mode="replicate")[0].permute(1, 2, 0)
    spread = _sliding(padded, height, width, torch.maximum)
    spread -= _sliding(padded, height, width, torch.minimum)
    return spread.amax(dim=2)


def flat_mask(source: torch.Tensor) -> torch.Tensor | None:
    """Where an H x W x C source is flat (H x W bool, on its device), or None where nothing is."""
    flat = _local_range(source) <= _TOLERANCE
    return flat if bool(flat.any()) else None


def keep_flat_rows(
    source: torch.Tensor, flat: torch.Tensor | None, rows: torch.Tensor, row0: int, scale: int
) -> torch.Tensor:
    """Rows [row0, row0 + len(rows)) of a `scale`x upscale, given the source value where it is flat.

    Works on the flat source pixels alone (rows seen as source columns of `scale` pixels): no mask or
    nearest-neighbour image at output resolution.
    """
    if flat is None:
        return rows
    rows = rows.contiguous()
    source_rows = torch.arange(row0, row0 + len(rows), device=rows.device) // scale
    out_y, x = torch.nonzero(flat[source_rows], as_tuple=True)
    if len(out_y):
        blocks = rows.view(len(rows), flat.shape[1], scale, rows.shape[2])
        blocks[out_y, x] = source[source_rows[out_y], x][:, None, :]
    return rows
