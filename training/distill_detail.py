"""Distil RealSR into a Compact network: a lighter way to RealSR's look, for where RealSR is too slow.

    python -m training.distill_detail [--phases STEPS:WEIGHT,...] [--batch N] [--seed S] [--out PATH]
                                      [--models-dir DIR] [--cache DIR]

Teacher: realsr-df2k (23 RRDB blocks, about 36 TFLOP per input MP), run through the service's own engine
as a job runs it. Student: SRVGGNetCompact x4 (64 features, 16 convolutions with PReLU, about 1.2 TFLOP
per input MP: realesr-animevideov3's shape), started from animevideov3's weights so it begins as an
upscaler, then fitted to the teacher's 8-bit outputs alone: no ground truth, no GAN, so it can only learn
what the teacher draws, not invent its own. The loss is L1, then L1 plus an amplitude-spectrum term
(`PHASES`).

Inputs: the photos of Debian's wallpaper packages (`make bench-data`) that no bench or test holds out
(`PHOTOS`; bench/perception.py holds one per package out, training/faithful_data.py two of mate's),
area-shrunk to two sizes (long side 320 with a box filter, as web tools shrink; 256 with bicubic, as
the classical benches do), so the student sees the teacher at two detail densities: 3.8 MP of inputs.
The teacher's outputs are cached (`--cache`): a second run trains at once. Two photos are held out of
the steps and give the student's PSNR against the teacher as it trains.

Measured and not taken (docs/benchmarks.md, "A Compact student of RealSR"). These phases (run as three
invocations on the 2-core Intel Xeon VM, AMX-BF16, bf16 autocast; the default `--phases` chains them: 13
minutes of teacher, then 0.47 s a step) took the held-out PSNR against the teacher from 27.54 dB to 33.41
after L1 and 33.12 at the end. NIQE on the clean held-out crops at x4: 5.66 after L1, 4.26 at the end,
against RealSR's 2.50. At 27x RealSR's speed it is sharper than faithful, but on fine fur it draws a
crackle that neither RealSR nor the original has, and it smears eyes and lips.

    python -m training.distill_detail look OUT.png [--candidate PATH]

draws held-out crops at x4 (48-px uploads): the original, bicubic, RealSR and the candidate.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from models.recipe import Recipe, Step
from models.spec import PLAIN
from models.zoo import builtin

TEACHER = "realsr-df2k"
INIT = "realesr-animevideov3"  # its x4 Compact weights: the student's shape and starting point
OUT = Path("var/distill/realsr-compact.safetensors")  # a candidate: measured, not shipped (see above)
SCALE = 4

# Photographs only (no renders, logos or gradients), by package. Held out elsewhere, never here:
# lomiri's Kleiber, lxqt's after-the-rain and mate's LadyBird (bench/perception.py), mate's Dune
# (training/faithful_data.py).
_LOMIRI = Path("/usr/share/backgrounds")
_LXQT = Path("/usr/share/lxqt/wallpapers")
_MATE = Path("/usr/share/backgrounds/mate/nature")
PHOTOS: tuple[Path, ...] = (
    *(
        _LOMIRI / f"{name}.jpg"
        for name in (
            "Bridge_by_Sander_Klootwijk",
            "Dragonfly_by_Bolly",
            "Picture_0B_by_freespace",
            "Picture_1A_by_freespace",
            "Wine_by_Jakkub_Mede",
            "aitzgorri_by_Aitzol_Berasategi",
            "free_by_Peter_Nerlich",
            "friends_by_Aitzol_Berasategi",
            "greentock_by_Peter_Nerlich",
            "life_by_Aitzol_Berasategi",
            "picosdeeuropa_by_Aitzol_Berasategi",
            "seeding_by_Clements_Engelhardt",
            "sunset_by_Aitzol_Berasategi",
        )
    ),
    *(
        _LXQT / name
        for name in (
            "Butterfly-Kenneth-Wimer.jpg",
            "Valendas.png",
            "appleflower.png",
            "beam.png",
            "butterfly.png",
            "cloud.png",
            "drop.png",
            "flowers.png",
            "fog.jpg",
            "this-is-not-windows.jpg",
        )
    ),
    *(
        _MATE / f"{name}.jpg"
        for name in (
            "Aqua",
            "Blinds",
            "FreshFlower",
            "Garden",
            "GreenMeadow",
            "RainDrops",
            "Storm",
            "TwoWings",
            "Wood",
            "YellowFlower",
        )
    ),
)
SHRINKS: tuple[tuple[int, Image.Resampling], ...] = (
    (320, Image.Resampling.BOX),
    (256, Image.Resampling.BICUBIC),
)
VALIDATION = ("Dragonfly_by_Bolly", "flowers")  # held out of the steps: the PSNR against the teacher

PATCH = 48  # input pixels a side; the target is 192
BATCH = 16
# (steps, spectrum weight) per phase; each starts from the last one's weights with a fresh optimiser, warm-up
# and cosine decay. L1 alone learns RealSR's edges but averages its texture away (NIQE 5.66 on the clean
# held-out set, RealSR 2.50); the amplitude-spectrum term (`spectral`) then asks for the texture's energy
# wherever its phase lies: NIQE 4.42 after the second phase, 4.26 after the third, for 0.37 dB of PSNR
# (docs/benchmarks.md, "A Compact student of RealSR").
PHASES: tuple[tuple[int, float], ...] = ((3000, 0.0), (600, 1.0), (600, 3.0))
PEAK_LR = 2e-4
FINAL_LR = 2e-6
WARMUP = 100
FLAT_STD = 0.02  # patches flatter than this (the target's std in [0, 1]) are drawn again, up to REDRAWS
REDRAWS = 4


class PhotosMissing(FileNotFoundError):
    """The wallpaper packages are not installed (`make bench-data`)."""


@dataclass(frozen=True)
class Pair:
    """One input and the teacher's x4 output of it, both uint8 HxWx3."""

    name: str
    low: np.ndarray
    high: np.ndarray


def open_photo(path: Path) -> Image.Image:
    """One training photo, as RGB."""
    if not path.is_file():
        raise PhotosMissing(f"{path}: install the wallpaper packages (`make bench-data`)")
    with Image.open(path) as opened:
        return opened.convert("RGB")


def shrunk(image: Image.Image, long_side: int, resample: Image.Resampling) -> np.ndarray:
    """The photo shrunk so its long side is `long_side`, as uint8 RGB."""
    ratio = long_side / max(image.size)
    size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    return np.asarray(image.resize(size, resample))


def _ignore(_fraction: float) -> None:
    return None


def teach(models_dir: Path, cache: Path) -> list[Pair]:
    """Every input and the teacher's output of it, from the cache where it is there."""
    from models.recipe import run_recipe_to_integers

    cache.mkdir(parents=True, exist_ok=True)
    recipe = Recipe.pipeline((Step(TEACHER, PLAIN),))
    pairs = []
    for path in PHOTOS:
        photo = open_photo(path)  # decoded once for both sizes: the photos are up to 4 MP
        for long_side, resample in SHRINKS:
            name = f"{path.stem}-{long_side}"
            low = shrunk(photo, long_side, resample)
            stored = cache / f"{name}.npz"
            if stored.is_file():
                with np.load(stored) as saved:
                    if np.array_equal(saved["low"], low):
                        pairs.append(Pair(name, low, saved["high"]))
                        continue
            started = time.perf_counter()
            rgb = low.astype(np.float32) / np.float32(255.0)
            high = run_recipe_to_integers(rgb, recipe, SCALE, builtin, models_dir, _ignore, 8)
            np.savez(stored, low=low, high=high)
            print(f"  teacher  {name} {low.shape[1]}x{low.shape[0]}  {time.perf_counter() - started:.1f} s")
            pairs.append(Pair(name, low, high))
    return pairs


def _tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 to float 3xHxW in [0, 1]."""
    return torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1).div_(255.0)


def _patch(
    pairs: list[tuple[torch.Tensor, torch.Tensor]], rng: np.random.Generator
) -> tuple[torch.Tensor, ...]:
    """A random input patch and its target, flipped and turned at random; flat patches are drawn again."""
    for _ in range(REDRAWS):
        low, high = pairs[rng.integers(len(pairs))]
        top = int(rng.integers(low.shape[1] - PATCH + 1))
        left = int(rng.integers(low.shape[2] - PATCH + 1))
        x = low[:, top : top + PATCH, left : left + PATCH]
        y = high[:, top * SCALE : (top + PATCH) * SCALE, left * SCALE : (left + PATCH) * SCALE]
        if float(y.std()) >= FLAT_STD:
            break
    turns, flip = int(rng.integers(4)), bool(rng.integers(2))
    x, y = torch.rot90(x, turns, (1, 2)), torch.rot90(y, turns, (1, 2))
    return (x.flip(2), y.flip(2)) if flip else (x, y)


def _lr(step: int, steps: int) -> float:
    if step < WARMUP:
        return PEAK_LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, steps - WARMUP)
    return FINAL_LR + 0.5 * (PEAK_LR - FINAL_LR) * (1 + math.cos(math.pi * progress))


def _psnr_to_teacher(network: torch.nn.Module, pairs: list[Pair]) -> float:
    """Mean RGB PSNR of the student's 8-bit output against the teacher's, whole images, fp32."""
    network.eval()
    scores = []
    with torch.no_grad():
        for pair in pairs:
            out = network(_tensor(pair.low)[None]).clamp(0, 1)[0]
            levels = torch.round(out * 255.0)
            error = float(((levels - _tensor(pair.high) * 255.0) ** 2).mean())
            scores.append(10 * math.log10(255.0**2 / max(error, 1e-10)))
    network.train()
    return float(np.mean(scores))


def spectral(out: torch.Tensor, target: torch.Tensor, block: int = 32) -> torch.Tensor:
    """Mean difference of the amplitude spectra of `block`-px tiles: texture energy the student leaves out
    costs as much as energy it puts where there is none, wherever its phase lies."""

    def amplitude(image: torch.Tensor) -> torch.Tensor:
        tiles = image.unfold(2, block, block).unfold(3, block, block)
        spectrum: torch.Tensor = torch.fft.rfft2(tiles, norm="ortho")
        return spectrum.abs()

    return (amplitude(out) - amplitude(target)).abs().mean()


def train_phases(
    pairs: list[Pair], models_dir: Path, phases: tuple[tuple[int, float], ...], batch: int, seed: int
) -> torch.nn.Module:
    """The student after every phase, each from the last one's weights (the first from animevideov3's)."""
    network = None
    for steps, spectrum in phases:
        print(f"  phase: {steps} steps, spectrum weight {spectrum}")
        network = train(pairs, models_dir, steps, batch, seed, spectrum, network)
    assert network is not None
    return network


def train(
    pairs: list[Pair],
    models_dir: Path,
    steps: int,
    batch: int,
    seed: int,
    spectrum: float = 0.0,
    start: torch.nn.Module | None = None,
) -> torch.nn.Module:
    """The student after `steps` steps of L1 (plus `spectrum` times the spectral term) against the teacher,
    from `start`, else animevideov3's weights."""
    from spandrel import ModelLoader

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = (
        start if start is not None else ModelLoader().load_from_file(models_dir / f"{INIT}.safetensors").model
    )
    network = network.train().to(memory_format=torch.channels_last)
    held = [pair for pair in pairs if pair.name.rsplit("-", 1)[0] in VALIDATION]
    seen = [(_tensor(p.low), _tensor(p.high)) for p in pairs if p not in held]
    print(
        f"  {len(seen)} inputs train, {len(held)} held out; "
        f"at the start {_psnr_to_teacher(network, held):.2f} dB"
    )
    optimiser = torch.optim.Adam(network.parameters(), lr=PEAK_LR)
    started = time.perf_counter()
    total, since = 0.0, 0
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = _lr(step, steps)
        drawn = [_patch(seen, rng) for _ in range(batch)]
        x = torch.stack([d[0] for d in drawn]).contiguous(memory_format=torch.channels_last)
        y = torch.stack([d[1] for d in drawn])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = network(x)
        loss = (out.float() - y).abs().mean()
        if spectrum:
            loss = loss + spectrum * spectral(out.float(), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total, since = total + float(loss.detach()), since + 1
        if (step + 1) % 250 == 0 or step + 1 == steps:
            minutes = (time.perf_counter() - started) / 60
            print(
                f"  step {step + 1}/{steps}  loss {total / since * 255:.2f} (x255)  "
                f"held out {_psnr_to_teacher(network, held):.2f} dB  {minutes:.1f} min",
                flush=True,
            )
            total, since = 0.0, 0
    return network.eval()


# Held-out crops for `look` (scikit-image's validation photos): a face, fur round an eye, beans in a cup.
LOOK_CROPS = (("astronaut", 20, 150), ("chelsea", 60, 60), ("coffee", 120, 170))
LOOK_SIDE = 192


def look(out: Path, candidate: Path, models_dir: Path) -> None:
    """Held-out crops at x4 from 48-px bicubic uploads: the original, bicubic, RealSR and the candidate,
    each crop twice its size (nearest), so texture is seen, not averaged away by the viewer."""
    from spandrel import ModelLoader

    from models.engine import upscale
    from training.datasets import VALIDATION_IMAGES

    student = ModelLoader().load_from_file(candidate).model.eval()
    rows = []
    for name, top, left in LOOK_CROPS:
        photo = np.asarray(VALIDATION_IMAGES[name]())[top : top + LOOK_SIDE, left : left + LOOK_SIDE, :3]
        side = LOOK_SIDE // SCALE
        upload = np.asarray(Image.fromarray(photo).resize((side, side), Image.Resampling.BICUBIC))
        rgb = upload.astype(np.float32) / np.float32(255.0)
        bicubic = np.asarray(Image.fromarray(upload).resize((LOOK_SIDE,) * 2, Image.Resampling.BICUBIC))
        teacher = upscale(rgb, builtin(TEACHER), SCALE, models_dir, _ignore)
        with torch.no_grad():
            learnt = student(_tensor(upload)[None]).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        tiles = [
            photo,
            bicubic,
            *(np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8) for x in (teacher, learnt)),
        ]
        rows.append(np.concatenate(tiles, axis=1))
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    sheet.resize((sheet.width * 2, sheet.height * 2), Image.Resampling.NEAREST).save(out)
    print(f"  {out}: columns original, bicubic, {TEACHER}, {candidate.name}")


def main(argv: list[str] | None = None) -> None:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["look"]:
        looker = argparse.ArgumentParser(prog="python -m training.distill_detail look")
        looker.add_argument("out", type=Path)
        looker.add_argument("--candidate", type=Path, default=OUT)
        looker.add_argument("--models-dir", type=Path, default=Path("var/models"))
        given = looker.parse_args(args_in[1:])
        look(given.out, given.candidate, given.models_dir)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--phases",
        default=",".join(f"{steps}:{weight:g}" for steps, weight in PHASES),
        help="steps:spectrum-weight per phase",
    )
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--cache", type=Path, default=Path("var/distill"))
    args = parser.parse_args(args_in)
    pairs = teach(args.models_dir, args.cache)
    phases = tuple(
        (int(steps), float(weight)) for steps, _, weight in (p.partition(":") for p in args.phases.split(","))
    )
    network = train_phases(pairs, args.models_dir, phases, args.batch, args.seed)
    state = {key: value.detach().float().contiguous() for key, value in network.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out))
    print(f"  wrote {args.out}")


if __name__ == "__main__":
    main()
