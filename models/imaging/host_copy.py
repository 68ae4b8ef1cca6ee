"""The last two stages of the device pipeline: quantising a band where it was made, and copying it home.

On a GPU a float32 band is four times the bytes of the 8-bit band it becomes, so it is rounded to integers
first, on the GPU. Copies then go through page-locked host memory on a stream of their own: the copy of one
band overlaps the work on the next, and the host writes a band into the image only once its copy is done.
On the CPU a band already is host memory, and it is rounded straight into the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_TOPS = {8: 255.0, 16: 65535.0}
_DTYPES = {8: torch.uint8, 16: torch.uint16}


def quantise(rows: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Rows in [0, 1] rounded (half to even, as numpy's rint) to uint8 or uint16 on their own device.

    The float rows are scaled in place: a band is quantised once, as it leaves.
    """
    return rows.mul_(_TOPS[bit_depth]).round_().to(_DTYPES[bit_depth])


@dataclass
class _Pending:
    row0: int
    staged: torch.Tensor  # page-locked host memory the copy lands in
    done: torch.cuda.Event


class HostImage:
    """A host integer image (H x W x C, numpy, uint8 or uint16) filled band by band from float bands on any
    device.

    CUDA bands are quantised there and copied by a side stream into page-locked buffers; at most `in_flight`
    copies are outstanding, and `finish` waits for the rest.
    """

    def __init__(self, out: np.ndarray, in_flight: int = 2) -> None:
        self.out = out
        self.bit_depth = 16 if out.dtype == np.uint16 else 8
        self.in_flight = in_flight
        self._pending: list[_Pending] = []
        self._stream: torch.cuda.Stream | None = None

    def put(self, row0: int, rows: torch.Tensor) -> None:
        """Rows [row0, row0 + len(rows)) of the image, floats in [0, 1] (scaled in place)."""
        if rows.device.type != "cuda":
            # Host memory: scaled in place and rounded straight into the image, two passes over the band.
            on_host = rows.cpu().numpy()
            np.multiply(on_host, _TOPS[self.bit_depth], out=on_host)
            np.rint(on_host, out=self.out[row0 : row0 + len(on_host)], casting="unsafe")
            return
        band = quantise(rows, self.bit_depth)
        if self._stream is None:
            self._stream = torch.cuda.Stream(band.device)  # type: ignore[no-untyped-call]
        self._stream.wait_stream(torch.cuda.current_stream(band.device))
        staged = torch.empty(band.shape, dtype=band.dtype, pin_memory=True)
        with torch.cuda.stream(self._stream):
            staged.copy_(band, non_blocking=True)
            band.record_stream(self._stream)
            done = torch.cuda.Event()  # type: ignore[no-untyped-call]
            done.record(self._stream)
        self._pending.append(_Pending(row0, staged, done))
        while len(self._pending) > self.in_flight:
            self._land(self._pending.pop(0))

    def finish(self) -> None:
        """Wait for every copy still on its way and write it."""
        while self._pending:
            self._land(self._pending.pop(0))

    def _land(self, pending: _Pending) -> None:
        pending.done.synchronize()
        self.out[pending.row0 : pending.row0 + len(pending.staged)] = pending.staged.numpy()
