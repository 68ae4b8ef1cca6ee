"""Model quality on degraded inputs: every model and option, on what users' images have been through.

Each clean crop (bench/ground_truth.py) is shrunk with bicubic by the scale, stored in 8 bits, then
compressed as JPEG and/or given Gaussian noise (`DEGRADATIONS`); every model with every option it has at
that scale brings it back, and the result (in 8 bits, as a job delivers it) is scored against the clean
crop: PSNR and SSIM on the luma, a 4-pixel border left out. Scale 1 is clean-up: the degraded image at
full size, against doing nothing and against an x2 model with denoise followed by a Lanczos halving.
Tables and the preset choice are printed by bench/degradation_tables.py.
"""

from __future__ import annotations

import io
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

from bench.ground_truth import Sample
from models.engine import upscale
from models.imaging.resample import Filter, resize
from models.runtimes.srcnn import rgb_to_ycbcr
from models.spec import PLAIN, ModelSpec, Options
from models.zoo import builtin, builtin_models
from training.metrics import psnr

BORDER = 4
# x2 denoisers tried for clean-up at scale 1 (then halved): Real-CUGAN and the cheapest one (upconv_7).
# waifu2x cunet x2 is left out (its 1x weights are in), the RRDB models too: about 4 s a crop each on
# the 2-core machine, where this whole clean-up set takes about as long as x2 and x4 together.
_CLEANUP_VIA_X2 = ("realcugan-se", "waifu2x-photo")


@dataclass(frozen=True)
class Degradation:
    """What happened to an image after it was made: sensor-like Gaussian noise, then JPEG compression."""

    name: str
    jpeg_quality: int | None = None
    noise_sigma: float = 0.0  # in 8-bit levels, on each RGB channel independently


DEGRADATIONS: tuple[Degradation, ...] = (
    Degradation("clean"),
    Degradation("jpeg75", jpeg_quality=75),
    Degradation("jpeg50", jpeg_quality=50),
    Degradation("jpeg30", jpeg_quality=30),
    Degradation("noise5", noise_sigma=5.0),
    Degradation("noise10", noise_sigma=10.0),
    Degradation("jpeg50+noise5", jpeg_quality=50, noise_sigma=5.0),
)
# Clean-up has nothing to restore on a clean image (and leaving it untouched scores an infinite PSNR); it
# also meets the worst JPEG: the done-when figure of issue #14 is a q=20 image at scale 1.
CLEANUP_DEGRADATIONS: tuple[Degradation, ...] = (*DEGRADATIONS[1:], Degradation("jpeg20", jpeg_quality=20))


@dataclass(frozen=True)
class Method:
    """One way to run a job: a model, its options, and for clean-up an x2 pass halved afterwards."""

    model: str
    options: Options = PLAIN
    via_x2: bool = False

    @property
    def label(self) -> str:
        """How the tables name it: ``realcugan-se denoise3``, ``waifu2x-photo denoise1 (x2, halved)``."""
        if self.options.conservative:
            option = " conservative"
        elif self.options.denoise is not None:
            option = f" denoise{self.options.denoise}"
        else:
            option = ""
        return f"{self.model}{option}" + (" (x2, halved)" if self.via_x2 else "")


IDENTITY = Method("input")  # clean-up's baseline: the degraded image as it is


@dataclass(frozen=True)
class Score:
    """One method's result on one degraded crop."""

    content: str
    image: str
    scale: int
    degradation: str
    method: str
    model: str
    denoise: int | None
    conservative: bool
    psnr: float
    ssim: float


def degrade(clean: np.ndarray, scale: int, degradation: Degradation, key: str) -> np.ndarray:
    """The input a user would upload: bicubic shrink, 8-bit levels, noise, JPEG (Pillow, 4:2:0 chroma).

    The noise is seeded from `key`, so every run and every model sees the same pixels.
    """
    height, width = clean.shape[:2]
    small = resize(clean, width // scale, height // scale, Filter.BICUBIC) if scale > 1 else clean
    levels = np.rint(small.astype(np.float64) * 255.0)
    if degradation.noise_sigma:
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        levels = np.rint(levels + rng.normal(0.0, degradation.noise_sigma, levels.shape))
    pixels = np.clip(levels, 0, 255).astype(np.uint8)
    if degradation.jpeg_quality is not None:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=degradation.jpeg_quality)
        pixels = np.asarray(Image.open(buffer).convert("RGB"))
    return pixels.astype(np.float32) / 255.0


def score(estimate: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) and SSIM of the luma, both images in 8-bit levels, BORDER pixels left out on each side."""
    delivered = np.rint(np.clip(estimate, 0.0, 1.0) * 255.0) / 255.0
    y_out, y_true = rgb_to_ycbcr(delivered.astype(np.float32))[:, :, 0], rgb_to_ycbcr(truth)[:, :, 0]
    inner = (slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    ssim = structural_similarity(y_out[inner], y_true[inner], data_range=1.0)  # type: ignore[no-untyped-call]
    return psnr(y_out, y_true, BORDER), float(ssim)


def methods_at(spec: ModelSpec, scale: int) -> list[Method]:
    """Every option a model offers at a scale: plain, each denoise level, conservative."""
    offered = spec.options_at(scale)
    found = [Method(spec.id)] if offered.plain else []
    found += [Method(spec.id, Options(denoise=level)) for level in offered.denoise]
    return found + ([Method(spec.id, Options(conservative=True))] if offered.conservative else [])


def cleanup_methods() -> list[Method]:
    """Scale 1: nothing, each model with 1x weights, and the cheap x2 denoisers halved afterwards."""
    found = [IDENTITY]
    found += [m for spec in builtin_models() if 1 in spec.scales for m in methods_at(spec, 1)]
    for family in _CLEANUP_VIA_X2:
        levels = builtin(family).options_at(2).denoise
        found += [Method(family, Options(denoise=level), via_x2=True) for level in levels]
    return found


def _ignore_progress(_fraction: float) -> None:
    return None


def run_method(method: Method, image: np.ndarray, scale: int, models_dir: Path) -> np.ndarray:
    """The output of one method on one input, in float, exactly `scale` times its size."""
    if method == IDENTITY:
        return image
    spec = builtin(method.model)
    if method.via_x2:
        double = upscale(image, spec, 2, models_dir, _ignore_progress, method.options)
        return resize(double, image.shape[1], image.shape[0], Filter.LANCZOS)
    return upscale(image, spec, scale, models_dir, _ignore_progress, method.options)


def _inputs(
    truths: list[Sample], scale: int, degradations: tuple[Degradation, ...]
) -> dict[tuple[str, str], np.ndarray]:
    return {
        (s.name, d.name): degrade(s.rgb, scale, d, f"{s.name}/{d.name}/x{scale}")
        for s in truths
        for d in degradations
    }


def _plan(scale: int) -> tuple[list[Method], tuple[Degradation, ...]]:
    if scale == 1:
        return cleanup_methods(), CLEANUP_DEGRADATIONS
    return [m for spec in builtin_models() for m in methods_at(spec, scale)], DEGRADATIONS


def run(
    truths: list[Sample],
    scales: tuple[int, ...],
    models_dir: Path,
    log: Callable[[str], None],
    models: tuple[str, ...] = (),
) -> Iterator[list[Score]]:
    """Score every method (of `models`, if given) at every scale on every degraded crop, one list a method.

    Methods run one after another over all inputs, so each weight file is loaded once (the engine keeps
    only a few models in memory), and the caller can save after each (a full run takes tens of minutes).
    """
    for scale in scales:
        methods, degradations = _plan(scale)
        inputs = _inputs(truths, scale, degradations)
        for method in (m for m in methods if not models or m.model in models):
            started = time.perf_counter()
            found = []
            for truth in truths:
                for degradation in degradations:
                    out = run_method(method, inputs[truth.name, degradation.name], scale, models_dir)
                    found_psnr, found_ssim = score(out, truth.rgb)
                    found.append(
                        Score(
                            content=truth.content,
                            image=truth.name,
                            scale=scale,
                            degradation=degradation.name,
                            method=method.label,
                            model=method.model,
                            denoise=method.options.denoise,
                            conservative=method.options.conservative,
                            psnr=found_psnr,
                            ssim=found_ssim,
                        )
                    )
            yield found
            log(f"x{scale} {method.label:40} {time.perf_counter() - started:6.1f} s")


def scores_as_json(scores: list[Score]) -> list[dict[str, object]]:
    """Scores as plain records, so `--tables-only` can print the tables again without rerunning."""
    return [asdict(s) for s in scores]


def log_to_stderr(line: str) -> None:
    """Progress goes to stderr, so stdout holds only the tables."""
    print(line, file=sys.stderr, flush=True)
