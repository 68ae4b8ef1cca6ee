"""The benchmark's re-statement of the reference Real-ESRGAN tiling computes what the model computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from spandrel import ImageModelDescriptor, ModelLoader

from bench.engine import reference_tiled


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
