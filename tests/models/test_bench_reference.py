"""The engine benchmark's tools: the reference Real-ESRGAN tiling, and its clock of stages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from spandrel import ImageModelDescriptor, ModelLoader

from bench.engine import StageClock, reference_tiled


@torch.inference_mode()
def test_reference_tiling_matches_one_pass_for_a_local_network(models_dir: Path):
    descriptor = ModelLoader().load_from_file(models_dir / "realesr-animevideov3.safetensors")
    assert isinstance(descriptor, ImageModelDescriptor)
    network = descriptor.model.eval()
    image = torch.from_numpy(np.random.default_rng(6).random((1, 3, 50, 70), dtype=np.float32))
    whole = network(image)
    tiled = reference_tiled(network, image, 4, tile=24, pad=16)  # pad covering the receptive field
    assert tiled.shape == whole.shape == (1, 3, 200, 280)
    assert (tiled - whole).abs().max().item() * 255 < 1.0


def test_each_stage_is_charged_its_own_time_not_its_callees() -> None:
    """A generator stage pulling from another, calling a third: each gets only what it spent itself."""
    now = [0.0]
    clock = StageClock(now=lambda: now[0])

    def work(seconds: float) -> None:
        now[0] += seconds

    def source() -> Iterator[int]:
        for item in range(3):
            work(2.0)
            yield item

    def consumer(items: Iterator[int]) -> Iterator[int]:
        for item in items:
            clock.function("flat", work)(1.0)
            work(0.5)
            yield item

    upstream = clock.generator("tile", source)()
    assert list(clock.generator("band", consumer)(upstream)) == [0, 1, 2]
    assert dict(clock.seconds) == {"tile": 6.0, "flat": 3.0, "band": 1.5}
