"""Real-CUGAN and waifu2x converted from ncnn: spandrel loads them and they compute what ncnn computes.

The ncnn graphs take an input the tools pre-pad (realcugan-ncnn-vulkan reflects 18/14/19 pixels at 2x/3x/4x
and rounds the size up to a multiple of 2/4/2; waifu2x-ncnn-vulkan repeats edge pixels: 18 at 2x, 28 at 1x,
to a multiple of 2/4; 7 for upconv_7) and crop it off inside. Real-CUGAN 4x outputs a residual the tool
adds to the nearest-upscaled input. The tests do exactly that around ncnn, so the whole output is compared:
no border is excluded. The input is a photo crop of odd size (37 x 42), which exercises the rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spandrel
import torch

from models.convert.ncnn_convert import ncnn_files
from models.runtimes.arch import register_architectures
from models.zoo import VARIANTS, WeightVariant, find_variant
from tests.models.test_ncnn_convert import run_ncnn
from training.datasets import VALIDATION_IMAGES, load_rgb

HEIGHT, WIDTH = 37, 42
TOLERANCE = 1e-3
ARCHITECTURES = {
    "realcugan": "RealCUGAN",
    "cunet": "Waifu2xCUNet",
    "waifu2x-upconv7": "Waifu2xUpConv7",
}
# One variant per network shape: Real-CUGAN 2x/3x/4x (se) and 2x/3x (pro), waifu2x cunet 1x/2x, upconv_7.
COMPARED = [
    ("realcugan-se", 2, 1, False),
    ("realcugan-se", 3, None, True),
    ("realcugan-se", 4, 3, False),
    ("realcugan-pro", 2, None, False),
    ("realcugan-pro", 3, 3, False),
    ("waifu2x-cunet", 1, 2, False),
    ("waifu2x-cunet", 2, 0, False),
    ("waifu2x-photo", 2, None, False),
    ("waifu2x-anime", 2, 3, False),
]


def _padded(image: np.ndarray, border: int, multiple: int, mode: str) -> np.ndarray:
    """The tool's pre-padding of a 3 x H x W image: `border` all round, then up to a multiple."""
    height, width = image.shape[1:]
    bottom, right = border - height % -multiple, border - width % -multiple
    return np.pad(image, ((0, 0), (border, bottom), (border, right)), mode=mode)  # type: ignore[call-overload]


def ncnn_reference(variant: WeightVariant, image: np.ndarray) -> np.ndarray:
    """What the ncnn-vulkan tool computes for a 3 x H x W image in [0, 1], run on ncnn's CPU runtime."""
    scale = variant.scale
    height, width = image.shape[1:]
    if variant.graph == "realcugan":
        border, multiple = {2: (18, 2), 3: (14, 4), 4: (19, 2)}[scale]
        out = run_ncnn(*ncnn_files(variant), _padded(image, border, multiple, "reflect"), "in0", "out0")
        out = out[:, : height * scale, : width * scale]
        if scale == 4:
            out = out + image.repeat(4, axis=1).repeat(4, axis=2)
        return out
    if variant.graph == "cunet":
        border, multiple = {1: (28, 4), 2: (18, 2)}[scale]
    else:
        border, multiple = 7, 1
    padded = _padded(image, border, multiple, "edge")
    return run_ncnn(*ncnn_files(variant), padded, "Input1", "Eltwise4")[:, : height * scale, : width * scale]


def photo() -> np.ndarray:
    rgb = load_rgb(VALIDATION_IMAGES["astronaut"])[100 : 100 + HEIGHT, 200 : 200 + WIDTH]
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


@pytest.mark.parametrize(("family", "scale", "denoise", "conservative"), COMPARED)
def test_converted_model_computes_what_ncnn_computes(
    family: str, scale: int, denoise: int | None, conservative: bool, models_dir: Path
) -> None:
    variant = find_variant(family, scale, denoise, conservative)
    register_architectures()
    descriptor = spandrel.ModelLoader().load_from_file(models_dir / variant.file_name)
    image = photo()
    with torch.inference_mode():
        ours = descriptor.model.eval()(torch.from_numpy(image)[None])[0].numpy()
    theirs = ncnn_reference(variant, image)
    assert ours.shape == theirs.shape == (3, HEIGHT * scale, WIDTH * scale)
    difference = float(np.abs(ours - theirs).max())
    print(f"{variant.file_name}: max abs diff vs ncnn = {difference:.3g}")
    assert difference < TOLERANCE


@pytest.mark.parametrize(
    "variant", [v for v in VARIANTS if v.graph != "realesrgan"], ids=lambda v: v.file_name
)
def test_every_variant_loads_with_its_architecture_and_scale(
    variant: WeightVariant, models_dir: Path
) -> None:
    register_architectures()
    descriptor = spandrel.ModelLoader().load_from_file(models_dir / variant.file_name)
    assert descriptor.architecture.id == ARCHITECTURES[variant.graph]
    assert descriptor.scale == variant.scale
    assert descriptor.input_channels == descriptor.output_channels == 3
    # Pro files take [0, 1] directly (models/convert/ncnn_unet.py), so spandrel must not add its pro mapping.
    assert "pro" not in descriptor.tags


def test_waifu2x_cunet_is_not_taken_for_real_cugan(models_dir: Path) -> None:
    """Real-CUGAN 2x has the same layers: only the marker key tells them apart, detected first."""
    register_architectures()
    register_architectures()  # idempotent: a second call adds nothing and raises nothing
    ids = [support.architecture.id for support in spandrel.MAIN_REGISTRY.architectures("detection")]
    assert ids.count("Waifu2xCUNet") == ids.count("Waifu2xUpConv7") == 1
    assert ids.index("Waifu2xCUNet") < ids.index("RealCUGAN")
    state = (
        spandrel.ModelLoader().load_from_file(models_dir / "waifu2x-cunet-x2.safetensors").model.state_dict()
    )
    state.pop("waifu2x_cunet")
    assert spandrel.ModelLoader().load_from_state_dict(state).architecture.id == "RealCUGAN"
