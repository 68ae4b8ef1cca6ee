"""The RealSR distillation's data split and its spectral loss (training/distill_detail.py)."""

from __future__ import annotations

import torch

from bench.perception import WALLPAPERS
from training.distill_detail import PHOTOS, VALIDATION, spectral
from training.faithful_data import HELD_OUT_PHOTOS


def test_no_photo_a_bench_holds_out_is_a_training_input():
    names = {path.stem for path in PHOTOS}
    assert len(names) == len(PHOTOS)
    assert not ({path.stem for path in WALLPAPERS.values()} | set(HELD_OUT_PHOTOS)) & names
    assert set(VALIDATION) <= names  # held out of the steps, not of the teacher's inputs


def test_the_spectral_term_asks_for_texture_energy_wherever_its_phase_lies():
    texture = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    moved = torch.roll(texture, shifts=(5, 9), dims=(2, 3))  # the same texture, elsewhere in each tile
    flat = torch.full_like(texture, float(texture.mean()))
    assert float(spectral(texture, texture)) == 0.0
    # The same energy with its phase moved costs far less than a flat patch with none (L1 rates the two
    # alike, which is why an L1 student averages texture away).
    assert float(spectral(moved, texture)) < 0.5 * float(spectral(flat, texture))
    assert float((moved - texture).abs().mean()) > 0.8 * float((flat - texture).abs().mean())
