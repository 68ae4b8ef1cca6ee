"""SRCNN: the committed weights load and beat bicubic on an image they were not trained on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage import data

from models.imaging.resample import Filter, resize
from models.runtimes.srcnn import SRCNN, WEIGHTS_PATH, load_srcnn, rgb_to_ycbcr, ycbcr_to_rgb
from training.datasets import TRAIN_IMAGES, VALIDATION_IMAGES


@pytest.fixture(scope="module")
def network() -> SRCNN:
    return load_srcnn(WEIGHTS_PATH)


def y_psnr(estimate: np.ndarray, target: np.ndarray, border: int) -> float:
    diff = (np.clip(estimate, 0, 1) - target)[border:-border, border:-border].astype(np.float64) * 255
    return 10 * math.log10(255**2 / np.mean(diff**2))


@torch.inference_mode()
def refine(network: SRCNN, luma: np.ndarray) -> np.ndarray:
    return network(torch.from_numpy(np.ascontiguousarray(luma))[None, None])[0, 0].numpy()


def test_committed_weights_load_as_float32_eval(network):
    assert not network.training
    assert all(p.dtype == torch.float32 for p in network.parameters())


def test_srcnn_beats_bicubic_at_x2_on_a_held_out_image(network):
    assert "astronaut" in VALIDATION_IMAGES and "astronaut" not in TRAIN_IMAGES
    # The face and hair: detailed enough for the comparison to mean something, small enough to be fast.
    hr = data.astronaut()[40:168, 150:278].astype(np.float32) / 255
    lr = resize(hr, 64, 64, Filter.BICUBIC)
    bicubic = rgb_to_ycbcr(resize(lr, 128, 128, Filter.BICUBIC))[:, :, 0]
    target = rgb_to_ycbcr(hr)[:, :, 0]
    refined = refine(network, bicubic)
    assert y_psnr(refined, target, 2) > y_psnr(bicubic, target, 2) + 0.2


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (40, 33)])
def test_output_has_the_input_size(network, shape):
    luma = np.random.default_rng(0).random(shape, dtype=np.float32)
    assert refine(network, luma).shape == shape


@pytest.mark.parametrize("level", [0.0, 0.3, 1.0])
def test_a_flat_image_stays_flat(network, level):
    out = refine(network, np.full((20, 30), level, dtype=np.float32))
    assert np.abs(out - level).max() < 1e-5


def test_ycbcr_round_trip():
    rgb = np.random.default_rng(1).random((16, 16, 3), dtype=np.float32)
    ycc = rgb_to_ycbcr(rgb)
    assert ycc.dtype == np.float32 and ycc.min() > -1e-6 and ycc.max() < 1 + 1e-6
    assert np.abs(ycbcr_to_rgb(ycc) - rgb).max() < 1e-5
    # Full-range BT.601: white has luma 1 and neutral chroma.
    assert np.allclose(rgb_to_ycbcr(np.ones((1, 1, 3), dtype=np.float32)), [1.0, 0.5, 0.5], atol=1e-6)
