"""Train the faithful weights (models/runtimes/faithful.py): 12000 steps of 64 patches, 5 min on a GPU.

    python -m training.train_faithful [--device cuda|cpu] [--steps N] [--batch N] [--minutes N] [--seed S]
                                    [--channels C] [--blocks B] [--lr LR] [--text-pages N]
                                    [--photos DIR] [--fonts DIR] [--out PATH]

The committed weights are this command's output with its defaults on an NVIDIA H200 (4.9 min,
2026-11-26; WEIGHTS_SHA256 in models/runtimes/faithful.py). The device defaults to CUDA where there is one. On
the 2-core VM a step of 16 patches took 3.3 s, so the same run would take about two days there: use a
GPU, or fewer steps (`--steps 2400 --batch 16`, 2 h 15 min, trains the same network less far).
`--channels`, `--blocks`, `--lr` and `--text-pages` train the candidates that docs/benchmarks.md
measured and did not take (a 64 x 16 network; drawn text pages); `--out` elsewhere, then
`python bench/faithful.py --candidate NAME=PATH` runs one beside the committed weights.

Needs Debian's mate-backgrounds photos (`apt-get install mate-backgrounds`; training/faithful_data.py says
which images train and which are held out; `--photos` points elsewhere), and with `--text-pages` the
DejaVu fonts (fonts-dejavu-core; `--fonts`). One network serves x2, x3 and x4: steps cycle through the
scales x4, x2, x4, x3 (x4, the hardest, gets half). L1 loss on luma, Adam, a short warm-up then a cosine
decay. At the end it prints the held-out PSNR of bicubic and of the network per image and scale, and
writes the weights.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from models.runtimes.faithful import NATIVE_SCALES, WEIGHTS_PATH, FaithfulNet
from training.faithful_data import FONT_DIR, PHOTO_DIR, LumaPair, held_out_images, make_pair, training_images
from training.metrics import psnr

SCALE_CYCLE = (4, 2, 4, 3)
PATCH = 48  # low-resolution patch side; the truth patch is scale x PATCH
BATCH = 64
DEFAULT_STEPS = 12000
# A guard, not a schedule: the steps and seed fix the result where the run ends inside it.
DEFAULT_MINUTES = 240.0
PEAK_LR = 1e-3
FINAL_LR = 1e-5
WARMUP = 100
# Patches this flat (standard deviation of the truth's luma) teach nothing; the photos' blurred
# backgrounds would otherwise fill a third of the batches. Redrawn up to this many times.
FLAT_STD = 0.02
REDRAWS = 4
THREADS = 2
# The committed network. 64 x 16 (1.2 M parameters, 4.4x these) gained +0.10 dB more at x4 for 4.3x the
# CPU time; with 8 drawn text pages it draws letters that are not there at x3 and x4 (docs/benchmarks.md,
# "Faithful preset"): neither was taken. Both trained at --lr 4e-4 and 6000 steps.
CHANNELS, BLOCKS = 48, 6
TEXT_PAGES = 0


def _patch(pair: LumaPair, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random aligned (low, bicubic, truth) patch of one pair; the redraws skip flat ones."""
    s = pair.scale
    for _ in range(REDRAWS + 1):
        y = int(rng.integers(pair.low.shape[0] - PATCH + 1))
        x = int(rng.integers(pair.low.shape[1] - PATCH + 1))
        hr = (slice(y * s, (y + PATCH) * s), slice(x * s, (x + PATCH) * s))
        truth = pair.truth[hr]
        if truth.std() >= FLAT_STD:
            break
    return pair.low[y : y + PATCH, x : x + PATCH], pair.bicubic[hr], truth


def sample_batch(
    pairs: Sequence[LumaPair], weights: np.ndarray, rng: np.random.Generator, batch: int = BATCH
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`batch` random patches of one scale, images drawn by area, each rotated or flipped at random."""
    scale = pairs[0].scale
    low = np.empty((batch, 1, PATCH, PATCH), np.float32)
    bicubic = np.empty((batch, 1, PATCH * scale, PATCH * scale), np.float32)
    truth = np.empty_like(bicubic)
    for i in range(batch):
        planes = _patch(pairs[int(rng.choice(len(pairs), p=weights))], rng)
        # The 8 rotations/reflections are equally plausible images: 8x the data for free.
        turns, flip = int(rng.integers(4)), bool(rng.integers(2))
        for plane, out in zip(planes, (low, bicubic, truth), strict=True):
            turned = np.rot90(plane, turns)
            out[i, 0] = turned[:, ::-1] if flip else turned
    return torch.from_numpy(low), torch.from_numpy(bicubic), torch.from_numpy(truth)


def learning_rate(step: int, steps: int, peak: float = PEAK_LR) -> float:
    """Linear warm-up to `peak`, then a cosine decay to FINAL_LR at `steps`."""
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, steps - WARMUP)
    return FINAL_LR + 0.5 * (peak - FINAL_LR) * (1.0 + math.cos(math.pi * progress))


@torch.inference_mode()
def upscale_luma(network: FaithfulNet, pair: LumaPair) -> np.ndarray:
    """The network's luma for a whole image, borders extended by edge replication as the service does."""
    pad = network.radius
    low = torch.from_numpy(np.pad(pair.low, pad, mode="edge"))[None, None]
    device = next(network.parameters()).device
    residual = network(low.to(device), pair.scale)[0, 0].cpu().numpy()
    crop = pad * pair.scale
    refined: np.ndarray = pair.bicubic + residual[crop:-crop, crop:-crop]
    return refined


def evaluate(network: FaithfulNet, pairs: Sequence[LumaPair]) -> list[tuple[str, int, float, float]]:
    """(image, scale, bicubic PSNR, network PSNR) for every held-out pair, border = scale."""
    network.eval()
    rows = [
        (p.name, p.scale, psnr(p.bicubic, p.truth, p.scale), psnr(upscale_luma(network, p), p.truth, p.scale))
        for p in pairs
    ]
    network.train()
    return rows


def format_table(rows: Sequence[tuple[str, int, float, float]]) -> str:
    """Held-out results as Markdown: gain over bicubic per image and scale, and the mean per scale."""
    scales = sorted({scale for _, scale, _, _ in rows})
    names = list(dict.fromkeys(name for name, _, _, _ in rows))
    table = {(name, scale): (b, n) for name, scale, b, n in rows}
    lines = ["| image | " + " | ".join(f"x{s} bicubic → faithful (dB)" for s in scales) + " |"]
    lines.append("|---" * (len(scales) + 1) + "|")
    for name in names:
        cells = [f"{b:.2f} → {n:.2f} ({n - b:+.2f})" for b, n in (table[name, s] for s in scales)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    means = [np.mean([table[n, s][1] - table[n, s][0] for n in names]) for s in scales]
    lines.append("| mean gain | " + " | ".join(f"{m:+.2f}" for m in means) + " |")
    return "\n".join(lines)


def train(
    pairs: dict[int, list[LumaPair]],
    steps: int,
    minutes: float,
    seed: int,
    held_out: Sequence[LumaPair],
    device: str = "cpu",
    batch: int = BATCH,
    shape: tuple[int, int] = (CHANNELS, BLOCKS),
    peak_lr: float = PEAK_LR,
) -> tuple[FaithfulNet, int, float]:
    """Adam on L1; returns the network (on the CPU), the steps done and the seconds taken."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = FaithfulNet(*shape).to(device)
    network.train()
    # channels_last: 1.7x faster training steps on this CPU (oneDNN's convolutions prefer NHWC).
    network.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(network.parameters(), lr=peak_lr, betas=(0.9, 0.99))
    weights = {s: np.array([p.truth.size for p in ps], np.float64) for s, ps in pairs.items()}
    started, running, done = time.monotonic(), 0.0, 0
    for step in range(steps):
        if time.monotonic() - started > minutes * 60:
            print(f"time budget of {minutes} min reached after {done} of {steps} steps")
            break
        scale = SCALE_CYCLE[step % len(SCALE_CYCLE)]
        low, bicubic, truth = (
            t.to(device, non_blocking=True)
            for t in sample_batch(pairs[scale], weights[scale] / weights[scale].sum(), rng, batch)
        )
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, peak_lr)
        low = low.contiguous(memory_format=torch.channels_last)
        loss = torch.nn.functional.l1_loss(bicubic + network(low, scale), truth)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        done, running = step + 1, running + loss.item()
        if done % 200 == 0:
            elapsed = time.monotonic() - started
            lr = learning_rate(step, steps, peak_lr)
            print(f"step {done:6d}  L1 {running / 200:.4e}  lr {lr:.1e}  {elapsed:7.1f} s", flush=True)
            running = 0.0
        if done % 1000 == 0 and done < steps:
            x4 = [p for p in held_out if p.scale == 4]
            gains = [n - b for _, _, b, n in evaluate(network, x4)]
            listed = ", ".join(f"{g:+.2f}" for g in gains)
            print(f"  held-out x4 gain over bicubic: mean {np.mean(gains):+.2f} dB ({listed})", flush=True)
    return network.to("cpu"), done, time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: prepare the data, train, evaluate on the held-out images, save."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help="training steps; with the seed, fixes the result"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help="wall-clock cap (stopping early makes the result depend on machine speed)",
    )
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="where to write the .safetensors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="cuda (the default where there is one) or cpu: the same run, other rounding",
    )
    parser.add_argument("--batch", type=int, default=BATCH, help="patches per step")
    parser.add_argument("--channels", type=int, default=CHANNELS, help="feature channels")
    parser.add_argument("--blocks", type=int, default=BLOCKS, help="residual blocks")
    parser.add_argument("--lr", type=float, default=PEAK_LR, help="peak learning rate")
    parser.add_argument("--text-pages", type=int, default=TEXT_PAGES, help="drawn text pages to train on")
    parser.add_argument("--photos", type=Path, default=PHOTO_DIR, help="mate-backgrounds' nature folder")
    parser.add_argument("--fonts", type=Path, default=FONT_DIR, help="fonts-dejavu-core's folder")
    args = parser.parse_args(argv)

    # Two threads (the reference machine's cores) and deterministic kernels: the same run on the same
    # machine writes the same file.
    torch.set_num_threads(THREADS)
    if args.device.startswith("cuda"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    torch.use_deterministic_algorithms(True)

    prepared = time.monotonic()
    train_images = training_images(args.photos, args.text_pages, args.fonts)
    pairs = {s: [make_pair(name, rgb, s) for name, rgb in train_images.items()] for s in NATIVE_SCALES}
    # An image smaller than a patch at some scale (scikit-image's text, 172 rows, at x4) sits that scale out.
    pairs = {s: [p for p in ps if min(p.low.shape) >= PATCH] for s, ps in pairs.items()}
    held_images = held_out_images(args.photos)
    held_out = [make_pair(name, rgb, s) for s in NATIVE_SCALES for name, rgb in held_images.items()]
    pixels = sum(rgb.shape[0] * rgb.shape[1] for rgb in train_images.values())
    held = len(held_out) // len(NATIVE_SCALES)
    took = time.monotonic() - prepared
    print(
        f"{len(train_images)} training images ({pixels / 1e6:.1f} MP), {held} held out, ready in {took:.0f} s"
    )

    network, steps, seconds = train(
        pairs,
        args.steps,
        args.minutes,
        args.seed,
        held_out,
        args.device,
        args.batch,
        (args.channels, args.blocks),
        args.lr,
    )
    print(
        f"trained {args.channels}x{args.blocks} for {steps} steps of {args.batch} low-resolution "
        f"{PATCH}x{PATCH} patches on {args.device} "
        f"in {seconds / 60:.1f} min"
    )
    print("held out, luma PSNR, border of `scale` pixels cropped:")
    print(format_table(evaluate(network, held_out)))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(network.export_state_dict(), str(args.out), metadata=network.metadata())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
