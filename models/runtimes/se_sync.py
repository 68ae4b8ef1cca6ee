"""Squeeze-excitation means shared by every tile of an image, so that SE networks tile without seams.

Real-CUGAN and waifu2x cunet scale their feature channels by a function of each map's global mean
(squeeze-excitation). Run tile by tile, each tile sees its own means and neighbouring tiles disagree: on a
224x224 photo in 64-pixel tiles with 24 pixels of context, Real-CUGAN (2x, 3x, 4x, pro) left steps of
27-46 levels at tile edges, waifu2x cunet 5-8, and more context does not cure it (bench/seams.py,
docs/benchmarks.md). With one set of means for all tiles, tiled equals untiled to 0.01 levels.

The shared means come from a first pass over a sample of the image's own tile windows, every other row and
column of the grid (a quarter of the windows at most, at least one), each SE block using the running mean
of what the pass has seen so far: the "fast rough" mode of Real-CUGAN's reference code (bilibili/ailab
upcunet_v3.py, cache_mode 2, which its authors give as +25% time). They approximate the means of one
untiled pass, and the result differs from that pass by a smooth offset, not by steps: on 512x512 photos
(2x2 tiles, one sampled) Real-CUGAN 2x by 0.8-0.9 levels on average (99.9th percentile 13-15, at most
29-44), waifu2x cunet by 0.08-0.23 (p99.9 1.5-3.8). Sampling every window would halve that for
Real-CUGAN (0.48 on the astronaut) at +100% work; an exact match needs one pass per SE block over the whole
image, about 2.9x the work. An image that fits one window runs untiled, with its own exact means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import torch
from torch import nn

from models.imaging.tiling import Tile

__all__ = ["SESync", "sample_windows"]


class _Running:
    """Running per-block channel means over the windows a recording pass has run so far."""

    def __init__(self, blocks: int) -> None:
        self.sums: list[torch.Tensor | None] = [None] * blocks
        self.counts = [0] * blocks

    def add(self, index: int, x: torch.Tensor) -> torch.Tensor:
        batch_sum = x.float().mean(dim=(2, 3), keepdim=True).sum(dim=0, keepdim=True)
        previous = self.sums[index]
        self.sums[index] = batch_sum if previous is None else previous + batch_sum
        self.counts[index] += x.shape[0]
        return self.mean(index)

    def mean(self, index: int) -> torch.Tensor:
        total = self.sums[index]
        if total is None:
            raise RuntimeError(f"squeeze-excitation block {index} never ran during the recording pass")
        return total / self.counts[index]


# Which SESync is recording (a _Running) or imposing means (a tuple) in this thread or task, if any. A
# context variable, not an attribute of the shared model, so concurrent jobs cannot see each other's means.
_ACTIVE: ContextVar[tuple[SESync, _Running | tuple[torch.Tensor, ...]] | None] = ContextVar(
    "se_sync_active", default=None
)


class SESync:
    """Forward hooks on a network's squeeze-excitation blocks that record or impose their channel means.

    A block is any module with ``forward_mean(x, mean)``: spandrel's Real-CUGAN ``SEBlock`` and our
    waifu2x one. Outside `record` and `shared` the hooks do nothing.
    """

    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        self.blocks = tuple(blocks)
        for index, block in enumerate(self.blocks):
            block.register_forward_hook(self._hook(index))

    @classmethod
    def attach(cls, model: nn.Module) -> SESync | None:
        """Hook the model's squeeze-excitation blocks, or return None if it has none."""
        blocks = [module for module in model.modules() if callable(getattr(module, "forward_mean", None))]
        return cls(blocks) if blocks else None

    def _hook(self, index: int) -> Callable[[nn.Module, tuple[Any, ...], torch.Tensor], torch.Tensor | None]:
        def hook(module: nn.Module, inputs: tuple[Any, ...], _output: torch.Tensor) -> torch.Tensor | None:
            active = _ACTIVE.get()
            if active is None or active[0] is not self:
                return None
            x: torch.Tensor = inputs[0]
            state = active[1]
            mean = state.add(index, x) if isinstance(state, _Running) else state[index]
            # Replacing the block's output costs one more pass over the map: small next to its convolutions.
            forward_mean = cast(Callable[[torch.Tensor, torch.Tensor], torch.Tensor], module.forward_mean)
            return forward_mean(x, mean.to(x.dtype))

        return hook

    def record(self, run: Callable[[], object]) -> tuple[torch.Tensor, ...]:
        """Call `run` (which runs the network); return each block's mean over all it ran, 1 x C x 1 x 1."""
        running = _Running(len(self.blocks))
        token = _ACTIVE.set((self, running))
        try:
            run()
        finally:
            _ACTIVE.reset(token)
        return tuple(running.mean(index) for index in range(len(self.blocks)))

    @contextmanager
    def shared(self, means: tuple[torch.Tensor, ...]) -> Iterator[None]:
        """Within the block, every forward pass uses these means instead of its own."""
        token = _ACTIVE.set((self, means))
        try:
            yield
        finally:
            _ACTIVE.reset(token)


def sample_windows(grid: Sequence[Tile]) -> list[Tile]:
    """The windows of every other tile row and column (the second, fourth, ...; the first if only one)."""
    rows = sorted({t.y0 for t in grid})
    cols = sorted({t.x0 for t in grid})
    keep_rows = set(rows[1::2] or rows[:1])
    keep_cols = set(cols[1::2] or cols[:1])
    return [t for t in grid if t.y0 in keep_rows and t.x0 in keep_cols]
