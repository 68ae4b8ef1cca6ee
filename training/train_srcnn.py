"""Train the committed SRCNN weights on the images bundled with scikit-image, on CPU, in a few minutes.

    python -m training.train_srcnn [--minutes N] [--steps N] [--out PATH] [--seed S]

One network serves every scale: patches are drawn at x2, x3 and x4. The degradation is exactly the one the
service undoes (models.runtimes.srcnn_upscaler): bicubic downscale, bicubic upscale back, refine the luma. At
the end it prints the validation PSNR of bicubic and SRCNN per scale and writes the weights.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from models.imaging.resample import Filter, resize
from models.runtimes.srcnn import SRCNN, WEIGHTS_PATH, rgb_to_ycbcr
from training.datasets import TRAIN_IMAGES, VALIDATION_IMAGES, load_rgb
from training.metrics import psnr

SCALES = (2, 3, 4)

PATCH = 48
BATCH = 32
DEFAULT_STEPS = 2800
DEFAULT_MINUTES = 6.0
PEAK_LR = 1e-3
FINAL_LR = 1e-5
THREADS = 2


@dataclass(frozen=True)
class Pair:
    """The luma of one image at one scale: what the network gets (bicubic) and what it should give (hr)."""

    name: str
    scale: int
    bicubic: np.ndarray
    hr: np.ndarray


def make_pair(name: str, hr_rgb: np.ndarray, scale: int) -> Pair:
    """Degrade an HR image as the service sees its inputs, and keep the luma of input and target."""
    height, width = (hr_rgb.shape[0] // scale) * scale, (hr_rgb.shape[1] // scale) * scale
    hr = hr_rgb[:height, :width]
    lr = resize(hr, width // scale, height // scale, Filter.BICUBIC)
    bicubic = resize(lr, width, height, Filter.BICUBIC)
    return Pair(name, scale, rgb_to_ycbcr(bicubic)[:, :, 0].copy(), rgb_to_ycbcr(hr)[:, :, 0].copy())


def make_pairs(images: dict[str, Callable[[], np.ndarray]]) -> list[Pair]:
    """Every image at every scale, computed once up front: resampling costs more than a training step."""
    pairs: list[Pair] = []
    for name, loader in images.items():
        rgb = load_rgb(loader)
        pairs.extend(make_pair(name, rgb, scale) for scale in SCALES)
    return pairs


@torch.inference_mode()
def refine(network: SRCNN, luma: np.ndarray) -> np.ndarray:
    """Run the network on one HxW luma plane."""
    refined: np.ndarray = network(torch.from_numpy(luma)[None, None])[0, 0].numpy()
    return refined


def evaluate(network: SRCNN, pairs: Sequence[Pair]) -> dict[int, tuple[float, float]]:
    """Mean (bicubic, SRCNN) PSNR over the images of each scale."""
    network.eval()
    table = {}
    for scale in SCALES:
        at_scale = [p for p in pairs if p.scale == scale]
        bicubic = [psnr(p.bicubic, p.hr, scale) for p in at_scale]
        srcnn = [psnr(refine(network, p.bicubic), p.hr, scale) for p in at_scale]
        table[scale] = (float(np.mean(bicubic)), float(np.mean(srcnn)))
    return table


def sample_batch(pairs: Sequence[Pair], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random patches (random image, scale, position, rotation and flip) as N x 1 x PATCH x PATCH."""
    inputs = np.empty((BATCH, 1, PATCH, PATCH), dtype=np.float32)
    targets = np.empty_like(inputs)
    for i in range(BATCH):
        pair = pairs[int(rng.integers(len(pairs)))]
        y = rng.integers(pair.hr.shape[0] - PATCH + 1)
        x = rng.integers(pair.hr.shape[1] - PATCH + 1)
        # The 8 rotations/reflections are equally plausible images and multiply the small data set by 8.
        turns, flip = int(rng.integers(4)), bool(rng.integers(2))
        for plane, out in ((pair.bicubic, inputs), (pair.hr, targets)):
            patch = np.rot90(plane[y : y + PATCH, x : x + PATCH], turns)
            out[i, 0] = patch[:, ::-1] if flip else patch
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def train(pairs: Sequence[Pair], steps: int, minutes: float, seed: int) -> tuple[SRCNN, int, float]:
    """Adam on MSE with a cosine learning-rate decay; returns the network, steps done and seconds taken."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = SRCNN()
    network.train()
    optimizer = torch.optim.Adam(network.parameters(), lr=PEAK_LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=FINAL_LR)
    started = time.monotonic()
    done = 0
    running = 0.0
    for step in range(1, steps + 1):
        if time.monotonic() - started > minutes * 60:
            print(f"time budget of {minutes} min reached after {done} of {steps} steps")
            break
        inputs, targets = sample_batch(pairs, rng)
        loss = torch.nn.functional.mse_loss(network(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        done = step
        running += loss.item()
        if step % 500 == 0:
            print(
                f"step {step:6d}  loss {running / 500:.3e}  lr {schedule.get_last_lr()[0]:.1e}  "
                f"{time.monotonic() - started:6.1f} s",
                flush=True,
            )
            running = 0.0
    return network, done, time.monotonic() - started


def format_table(table: dict[int, tuple[float, float]]) -> str:
    """The validation results as a Markdown table."""
    lines = ["| scale | bicubic PSNR (dB) | SRCNN PSNR (dB) | gain (dB) |", "|---|---|---|---|"]
    for scale, (bicubic, srcnn) in table.items():
        lines.append(f"| x{scale} | {bicubic:.2f} | {srcnn:.2f} | {srcnn - bicubic:+.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: train, evaluate on the held-out images, save."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help="wall-clock cap on training; stopping early makes the result depend on machine speed",
    )
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help="training steps; with the seed, fixes the result"
    )
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="where to write the .safetensors")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    # The reference machine has 2 cores; pinning the thread count also keeps float summation order, and so
    # the result, reproducible.
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)

    prepared = time.monotonic()
    train_pairs = make_pairs(TRAIN_IMAGES)
    validation_pairs = make_pairs(VALIDATION_IMAGES)
    print(
        f"{len(TRAIN_IMAGES)} training and {len(VALIDATION_IMAGES)} validation images at x{SCALES}, "
        f"prepared in {time.monotonic() - prepared:.1f} s"
    )

    network, steps, seconds = train(train_pairs, args.steps, args.minutes, args.seed)
    print(f"trained {steps} steps of {BATCH} patches of {PATCH}x{PATCH} in {seconds / 60:.1f} min")

    table = evaluate(network, validation_pairs)
    print(f"validation ({', '.join(VALIDATION_IMAGES)}), Y channel, border of `scale` pixels cropped:")
    print(format_table(table))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(network.export_state_dict(), str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
