"""The device pipeline's own stages: resampling in torch as Pillow resamples, and integers copied home."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.imaging.bands import assemble
from models.imaging.device_resample import resize_tensor_bands, taps
from models.imaging.host_copy import HostImage
from models.imaging.resample import Filter, resize_region

# (source h, w) -> (output h, w): the ratios the engine resamples by (a 4x model's output to 2x, 3x and 8x,
# a 2x model's to 3x) and a downscale by an odd ratio.
SIZES = [
    ((40, 36), (20, 18)),
    ((40, 36), (30, 27)),
    ((40, 36), (80, 72)),
    ((26, 22), (39, 33)),
    ((45, 31), (17, 12)),
]


def _in_bands(image: np.ndarray, rows: int) -> list[tuple[int, torch.Tensor]]:
    return [(row0, torch.from_numpy(image[row0 : row0 + rows])) for row0 in range(0, len(image), rows)]


@pytest.mark.parametrize(("source", "target"), SIZES)
@pytest.mark.parametrize("method", [Filter.LANCZOS, Filter.BICUBIC, Filter.BILINEAR])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_torch_resampling_is_pillows_in_any_bands(source, target, method: Filter, rows: int) -> None:
    """The kernels a GPU runs, here on the CPU: Pillow's one-shot result, whatever bands arrive."""
    image = np.random.default_rng(1).random((*source, 3), dtype=np.float32)
    expected = resize_region(image, target[1], target[0], 0.0, float(source[0]), method)
    bands = resize_tensor_bands(_in_bands(image, rows), source[0], target[1], target[0], method, False)
    out = assemble(((row0, band.numpy()) for row0, band in bands), target[0])
    assert np.abs(out - expected).max() < 1e-6


def test_on_the_cpu_bands_stay_there_and_are_pillows() -> None:
    image = np.random.default_rng(2).random((40, 36, 3), dtype=np.float32)
    bands = list(resize_tensor_bands(_in_bands(image, 9), 40, 72, 80, Filter.LANCZOS))
    assert all(band.device.type == "cpu" for _row0, band in bands)
    expected = resize_region(image, 72, 80, 0.0, 40.0, Filter.LANCZOS)
    # Pillow's own banded resize (models/imaging/bands.py): its sub-pixel boxes round in the last bit.
    assert np.abs(assemble(((row0, band.numpy()) for row0, band in bands), 80) - expected).max() < 1e-6


def test_taps_are_pillows_weights_summing_to_one() -> None:
    """Each output pixel's weights sum to one and stay inside the source, at the borders too."""
    axis = taps(36, 72, Filter.LANCZOS)
    assert np.allclose(axis.weights.sum(axis=1), 1.0)
    assert axis.first.min() == 0 and (axis.first + axis.count).max() == 36
    assert np.all(np.diff(axis.reads_to) >= 0)
    # Upscaling by 2 with Lanczos reads 6 source pixels, fewer at the borders; downscaling by 2 doubles it.
    assert axis.count.max() == 6 and axis.count.min() < 6
    assert taps(72, 36, Filter.LANCZOS).count.max() == 12


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_host_image_rounds_as_numpy_does(bit_depth: int) -> None:
    """Half-way values round to even, as `np.rint` did before the pipeline moved to torch."""
    dtype, top = (np.uint16, 65535) if bit_depth == 16 else (np.uint8, 255)
    rows = np.random.default_rng(3).random((10, 12, 3), dtype=np.float32)
    rows[0, :4, 0] = np.array([0.5, 1.5, 2.5, 3.5], np.float32) / top
    expected = np.rint(rows * np.float32(top)).astype(dtype)
    out = np.zeros((16, 12, 4), dtype)  # an alpha channel beside: untouched
    host = HostImage(out[:, :, :3])
    host.put(3, torch.from_numpy(rows.copy()))
    host.finish()
    assert np.array_equal(out[3:13, :, :3], expected)
    assert not out[:3].any() and not out[13:].any() and not out[:, :, 3].any()
