"""Tile seams: tiled output against one untiled pass on a natural photo, per model and context width.

    python bench/seams.py [--models realcugan-se-x2,...] [--contexts 8,16,24,32,48,64] [--size 224]

A crop of the astronaut photo is cut into 64-pixel tiles (each with `context` pixels of real context and
the engine's 16-pixel cross-fade) and compared with one pass over the whole crop, in 8-bit levels: the
largest error anywhere and the largest jump of the error between neighbouring output pixels (what a seam
looks like). Squeeze-excitation networks (Real-CUGAN, waifu2x cunet) run every tile and the untiled pass
with the same shared means (models/runtimes/se_sync.py), which isolates the context; `drift` is how far the
shared means move the result from a plain untiled pass, and `no sync` is tiling without shared means.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.imaging.bands import assemble
from models.imaging.tiling import tile_grid, tiled_bands
from models.install import install_official_weights
from models.runtimes.spandrel_upscaler import SpandrelUpscaler, load_spandrel
from models.runtimes.tiled_upscaler import FEATHER
from training.datasets import VALIDATION_IMAGES, load_rgb

_TILE = 64


def _levels(error: np.ndarray) -> str:
    error = error * 255
    jump = max(np.abs(np.diff(error, axis=0)).max(), np.abs(np.diff(error, axis=1)).max())
    return f"max {np.abs(error).max():.2f} jump {jump:.2f} mean {np.abs(error).mean():.3f}"


def _tiled(upscaler: SpandrelUpscaler, photo: np.ndarray, context: int, shared: bool) -> tuple[str, str]:
    """Seam figures for one context, and the drift of the shared means from a plain untiled pass."""
    scale = upscaler.native_scale
    pixels = torch.from_numpy(np.ascontiguousarray(photo))
    means = None
    if shared and upscaler.se_sync is not None:
        grid = tile_grid(photo.shape[0], photo.shape[1], _TILE, context)
        means = upscaler._shared_se_means(upscaler.se_sync, pixels, grid, 1)
    whole = upscaler._forward(pixels[None], se_means=means)[0].numpy()

    def network(tiles: torch.Tensor) -> torch.Tensor:
        return upscaler._forward(tiles, se_means=means)

    bands = tiled_bands(
        pixels, network, scale=scale, out_channels=3, tile=_TILE, pad=context, feather=FEATHER
    )
    tiled = assemble(((row0, rows.numpy()) for row0, rows in bands), photo.shape[0] * scale)
    drift = "" if means is None else _levels(whole - upscaler._forward(pixels[None])[0].numpy())
    return _levels(tiled - whole), drift


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="realcugan-se-x2,waifu2x-cunet-x2,waifu2x-photo-x2")
    parser.add_argument("--contexts", default="8,16,24,32,48,64")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    install_official_weights(args.models_dir)
    photo = load_rgb(VALIDATION_IMAGES["astronaut"])[60 : 60 + args.size, 150 : 150 + args.size]
    print(
        f"{args.size}x{args.size} astronaut crop, tile {_TILE}, feather {FEATHER}; torch {torch.__version__}"
    )
    for name in args.models.split(","):
        upscaler = load_spandrel(args.models_dir / f"{name}.safetensors")
        for context in (int(c) for c in args.contexts.split(",")):
            seams, drift = _tiled(upscaler, photo, context, shared=True)
            row = f"{name:32} context {context:3}  {seams}"
            if upscaler.se_sync is not None:
                row += f"   no sync: {_tiled(upscaler, photo, context, shared=False)[0]}   drift: {drift}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
