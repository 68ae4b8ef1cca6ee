"""Read ncnn ``.param`` + ``.bin`` pairs: the layer list and each weighted layer's tensors in torch layout.

The converters (``models/convert/ncnn_convert.py``, ``models/convert/ncnn_unet.py``) name these tensors after
the key layouts spandrel (or ``models/runtimes/arch``) detects; this module knows only the ncnn format itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "NcnnFormatError",
    "NcnnLayer",
    "WeightedLayer",
    "parse_param",
    "read_graph",
]

PARAM_MAGIC = "7767517"
TAG_FLOAT16 = 0x01306B47
TAG_FLOAT32 = 0

# Layer types that carry weights in the .bin, and those these graphs use that carry none. Any other type
# (BatchNorm, ConvolutionDepthWise, ...) would leave its weights unread, so it is refused by name.
_WEIGHTED_TYPES = frozenset({"Convolution", "Deconvolution", "InnerProduct", "PReLU"})
_WEIGHTLESS_TYPES = frozenset(
    {"Input", "Split", "Concat", "Crop", "Eltwise", "BinaryOp", "Pooling", "Interp", "PixelShuffle"}
)


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


@dataclass(frozen=True)
class WeightedLayer:
    """A layer's weights in torch layout: conv ``(out, in, k, k)``, transposed conv ``(in, out, k, k)``.

    An InnerProduct becomes a 1x1 convolution weight ``(out, in, 1, 1)`` (how squeeze-excitation blocks
    hold it in torch); a PReLU's slopes are its ``weight``.
    """

    layer: NcnnLayer
    weight: torch.Tensor
    bias: torch.Tensor | None


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


def _kernel_weight(layer: NcnnLayer, reader: _BinReader) -> tuple[np.ndarray, np.ndarray | None]:
    """A (de)convolution's weight as ncnn stores it, ``(out, in, k, k)``, and its optional bias."""
    out_ch, kernel, size = layer.int_param(0), layer.int_param(1), layer.int_param(6)
    if size % (out_ch * kernel * kernel):
        raise NcnnFormatError(
            f"{layer.name}: weight size {size} is not a multiple of {out_ch}x{kernel}x{kernel}"
        )
    weight = reader.tagged(size, f"{layer.name} weight").reshape(out_ch, -1, kernel, kernel)
    bias = reader.raw_float32(out_ch, f"{layer.name} bias") if layer.params.get(5, "0") != "0" else None
    return weight, bias


def _read_layer(layer: NcnnLayer, reader: _BinReader) -> WeightedLayer:
    bias: np.ndarray | None
    if layer.type == "PReLU":
        weight = reader.raw_float32(layer.int_param(0), f"{layer.name} slopes")
        bias = None
    elif layer.type == "InnerProduct":
        out_features, size = layer.int_param(0), layer.int_param(2)
        weight = reader.tagged(size, f"{layer.name} weight").reshape(out_features, -1, 1, 1)
        bias = (
            reader.raw_float32(out_features, f"{layer.name} bias")
            if layer.params.get(1, "0") != "0"
            else None
        )
    else:
        weight, bias = _kernel_weight(layer, reader)
        if layer.type == "Deconvolution":
            # ncnn keeps (out, in, k, k) for deconvolutions too; torch's ConvTranspose2d wants (in, out, k,
            # k). No kernel flip: checked against ncnn's runtime (tests/models/test_ncnn_families.py).
            weight = weight.transpose(1, 0, 2, 3)
    return WeightedLayer(
        layer,
        torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32)),
        None if bias is None else torch.from_numpy(bias),
    )


def _is_weightless_scale(layer: NcnnLayer) -> bool:
    """A Scale whose factors come from a second input blob (``0=-233``, squeeze-excitation), with no bias."""
    return layer.type == "Scale" and layer.params.get(0) == "-233" and layer.params.get(1, "0") == "0"


def read_graph(param_path: Path, bin_path: Path) -> tuple[list[NcnnLayer], list[WeightedLayer]]:
    """All layers of an ncnn pair, and the weighted ones with their tensors, in ``.param`` order.

    Fails on a layer type it does not know, on a dilated or non-square kernel (none of the shipped graphs
    have one, and the key layouts the converters write assume plain ones), and if the ``.bin`` is not
    consumed exactly.
    """
    layers = parse_param(Path(param_path).read_text(encoding="utf-8"))
    reader = _BinReader(Path(bin_path).read_bytes())
    weighted = []
    for layer in layers:
        if layer.type in _WEIGHTLESS_TYPES or _is_weightless_scale(layer):
            continue
        if layer.type not in _WEIGHTED_TYPES:
            raise NcnnFormatError(f"{layer.name}: unsupported layer type {layer.type}")
        if layer.type in {"Convolution", "Deconvolution"} and (
            layer.params.get(2, "1") != "1" or layer.params.get(11, layer.params[1]) != layer.params[1]
        ):
            raise NcnnFormatError(f"{layer.name}: dilated or non-square {layer.type} is not supported")
        weighted.append(_read_layer(layer, reader))
    reader.finish()
    return layers, weighted
