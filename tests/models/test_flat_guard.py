"""The flat guard: flat source areas come out as the source's own value, in any band of any scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.imaging.flat_guard import _local_range, flat_mask, keep_flat_rows


def _image() -> np.ndarray:
    """Flat patches (two colours) in noise: flat and textured areas, and edges between them."""
    rng = np.random.default_rng(11)
    image = rng.random((37, 29, 3), dtype=np.float32)
    image[3:20, 2:15] = [0.8, 0.2, 0.1]
    image[22:35, 10:27] = 1.0
    return image


def test_the_local_range_is_the_largest_channel_spread_over_5x5() -> None:
    image = _image()
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)), mode="edge")
    for y, x in [(0, 0), (10, 8), (21, 12), (36, 28), (5, 27)]:
        window = padded[y : y + 5, x : x + 5]
        spread = (window.max(axis=(0, 1)) - window.min(axis=(0, 1))).max()
        assert _local_range(torch.from_numpy(image))[y, x] == spread


@pytest.mark.parametrize("scale", [1, 2, 3, 4, 8])
@pytest.mark.parametrize(("start", "count"), [(0, None), (5, 17), (3, 6), (1, 1)])
def test_flat_pixels_take_the_source_value_in_any_band(scale: int, start: int, count: int | None) -> None:
    image = _image()
    found = flat_mask(torch.from_numpy(image))
    assert found is not None
    flat = found.numpy()
    assert 0.2 < flat.mean() < 0.6
    height = 37 * scale
    row0 = start * scale + start % scale  # bands need not start on a source row
    rows = np.random.default_rng(12).random((count or height - row0, 29 * scale, 3), dtype=np.float32)
    kept = keep_flat_rows(torch.from_numpy(image), found, torch.from_numpy(rows.copy()), row0, scale).numpy()
    source_y = (row0 + np.arange(len(rows))) // scale
    nearest = image[source_y][:, np.arange(29 * scale) // scale]
    mask = flat[source_y][:, np.arange(29 * scale) // scale]
    assert np.array_equal(kept[mask], nearest[mask])
    assert np.array_equal(kept[~mask], rows[~mask])
