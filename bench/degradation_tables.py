"""The figures bench/degradations.py's scores answer: tables per content type, the preset choice, the gains.

Every figure is a mean over a content type's crops (PSNR in dB averaged as dB). Photos and text are
ranked by PSNR (fidelity: the pixels and glyph edges that were there), illustrations by SSIM (flat areas
and line structure, where a small shift of an edge costs PSNR more than it costs the picture).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean
from typing import Literal

from bench.degradations import CLEANUP_DEGRADATIONS, DEGRADATIONS, IDENTITY, Score

Metric = Literal["psnr", "ssim"]
DECIDING: dict[str, Metric] = {"photo": "psnr", "illustration": "ssim", "text": "psnr"}
PRESETS: dict[str, str] = {"photo": "photo", "anime": "illustration", "text": "text"}
# The denoise hint a user can give, as the degradations it stands for (issue #14): none, light, medium,
# heavy. "no hint" weighs every degradation the same, mixed JPEG + noise included.
HINTS: dict[str, tuple[str, ...]] = {
    "0 none": ("clean",),
    "1 light": ("jpeg75", "noise5"),
    "2 medium": ("jpeg50", "noise10"),
    "3 heavy": ("jpeg30",),
    "no hint": tuple(d.name for d in DEGRADATIONS),
}
BASELINES = ("bicubic", "realesrgan-x4plus")
JPEG_DAMAGE = ("jpeg75", "jpeg50", "jpeg30", "jpeg50+noise5")


@dataclass(frozen=True)
class Mean:
    """A method's mean PSNR and SSIM over some crops and degradations."""

    method: str
    psnr: float
    ssim: float

    def value(self, metric: Metric) -> float:
        return self.psnr if metric == "psnr" else self.ssim

    def cell(self) -> str:
        return f"{self.psnr:6.2f} / {self.ssim:.3f}"


class Scores:
    """Scores indexed by (content, scale, method, degradation), averaged over the content's crops."""

    def __init__(self, scores: Iterable[Score]) -> None:
        grouped: dict[tuple[str, int, str, str], list[Score]] = defaultdict(list)
        for s in scores:
            grouped[s.content, s.scale, s.method, s.degradation].append(s)
        self._psnr = {key: fmean(s.psnr for s in group) for key, group in grouped.items()}
        self._ssim = {key: fmean(s.ssim for s in group) for key, group in grouped.items()}

    def methods(self, content: str, scale: int) -> list[str]:
        """The methods measured for a content type at a scale, in the order they ran."""
        return list(dict.fromkeys(m for c, s, m, _ in self._psnr if (c, s) == (content, scale)))

    def scales(self) -> list[int]:
        return sorted({s for _, s, _, _ in self._psnr}, key=lambda s: (s == 1, s))

    def mean(self, content: str, scale: int, method: str, degradations: Iterable[str]) -> Mean:
        keys = [(content, scale, method, d) for d in degradations]
        return Mean(method, fmean(self._psnr[k] for k in keys), fmean(self._ssim[k] for k in keys))

    def ranked(self, content: str, scale: int, degradations: tuple[str, ...]) -> list[Mean]:
        """Every method at this scale, best first by the content type's deciding metric."""
        metric = DECIDING[content]
        means = [self.mean(content, scale, m, degradations) for m in self.methods(content, scale)]
        return sorted(means, key=lambda mean: -mean.value(metric))


def _degradations(scale: int) -> tuple[str, ...]:
    return tuple(d.name for d in (CLEANUP_DEGRADATIONS if scale == 1 else DEGRADATIONS))


def full_tables(scores: Scores, emit: Callable[[str], None]) -> None:
    """Every method's PSNR / SSIM per content type, scale and degradation."""
    for scale in scores.scales():
        names = _degradations(scale)
        for content in DECIDING:
            emit(f"\nx{scale} {content}: PSNR dB / SSIM (Y, mean of the crops)")
            emit(f"{'method':42}" + "".join(f"{name:>16}" for name in names))
            for method in scores.methods(content, scale):
                cells = [scores.mean(content, scale, method, (d,)).cell() for d in names]
                emit(f"{method:42}" + "".join(f"{cell:>16}" for cell in cells))


def best_tables(scores: Scores, emit: Callable[[str], None], top: int = 3) -> None:
    """Per content type and degradation: the best few methods, then the baselines, as markdown rows."""
    for scale in scores.scales():
        for content, metric in DECIDING.items():
            measured = scores.methods(content, scale)
            baselines = [b for b in ((IDENTITY.label,) if scale == 1 else BASELINES) if b in measured]
            emit(f"\nx{scale} {content} (ranked by {metric.upper()}; cells: PSNR dB / SSIM)\n")
            columns = [f"#{n + 1}" for n in range(top)] + list(baselines)
            emit("| degradation | " + " | ".join(columns) + " |")
            emit("|---" * (top + len(baselines) + 1) + "|")
            for name in _degradations(scale):
                ranked = scores.ranked(content, scale, (name,))
                best = [f"{m.method} {m.cell().strip()}" for m in ranked[:top]]
                base = [scores.mean(content, scale, b, (name,)).cell().strip() for b in baselines]
                emit(f"| {name} | " + " | ".join(best + base) + " |")


def preset_choice(scores: Scores, emit: Callable[[str], None]) -> None:
    """For each preset and denoise hint: the best method per scale, with the runner-up's distance."""
    for scale in scores.scales():
        emit(f"\nPreset choice at x{scale}: best by the deciding metric over the hint's degradations")
        emit(f"{'preset':8} {'hint':9} {'metric':6} {'best (PSNR / SSIM)':62} runner-up")
        for preset, content in PRESETS.items():
            metric = DECIDING[content]
            for hint, names in _hints(scale).items():
                ranked = scores.ranked(content, scale, names)
                if len(ranked) < 2:  # a partial run (--models): nothing to choose between
                    continue
                first, second = ranked[:2]
                gap = first.value(metric) - second.value(metric)
                best = f"{first.method} {first.cell().strip()}"
                emit(f"{preset:8} {hint:9} {metric:6} {best:62} {second.method} (-{gap:.3f})")


def preset_choice_across(
    scores: Scores, emit: Callable[[str], None], scales: tuple[int, ...] = (2, 4)
) -> None:
    """A preset runs one pick at every scale: per preset and hint, the methods measured at all of `scales`
    ranked by the mean of their deciding metric over those scales, with each scale's shortfall from its own
    best (what choosing one pick for every scale costs there)."""
    scales = tuple(s for s in scales if s in scores.scales())
    if len(scales) < 2:
        return
    emit(f"\nPreset choice for x{' and x'.join(map(str, scales))} together: mean of the deciding metric")
    emit(f"{'preset':8} {'hint':9} {'best over the scales':34} {'mean':>7}  shortfall per scale; runner-up")
    for preset, content in PRESETS.items():
        metric = DECIDING[content]
        common = set.intersection(*(set(scores.methods(content, s)) for s in scales))
        if len(common) < 2:  # a partial run (--models): nothing to choose between
            continue
        for hint, names in HINTS.items():
            per_scale = {
                s: {m.method: m.value(metric) for m in scores.ranked(content, s, names)} for s in scales
            }
            mean = {m: fmean(per_scale[s][m] for s in scales) for m in common}
            first, second = sorted(mean, key=lambda m: -mean[m])[:2]
            short = " ".join(f"x{s} -{max(per_scale[s].values()) - per_scale[s][first]:.3f}" for s in scales)
            emit(
                f"{preset:8} {hint:9} {first:34} {mean[first]:7.3f}  {short}; "
                f"{second} (-{mean[first] - mean[second]:.3f})"
            )


def _hints(scale: int) -> Mapping[str, tuple[str, ...]]:
    if scale != 1:
        return HINTS
    # Clean-up has nothing to do on a clean image; its heavy hint also covers the q=20 image.
    return {"1 light": HINTS["1 light"], "2 medium": HINTS["2 medium"], "3 heavy": ("jpeg30", "jpeg20")}


def denoise_gain(scores: Scores, emit: Callable[[str], None], content: str = "photo") -> None:
    """Issue #14's figure: on JPEG-damaged photos, denoise 3 against the same model without denoise."""
    for scale in (s for s in scores.scales() if s != 1):
        methods = scores.methods(content, scale)
        emit(f"\nx{scale} {content}: PSNR gain of denoise3 over the plain model, dB (SSIM gain)")
        emit(f"{'model':26}" + "".join(f"{name:>22}" for name in JPEG_DAMAGE))
        for plain in methods:
            if f"{plain} denoise3" not in methods:
                continue
            cells = []
            for name in JPEG_DAMAGE:
                off = scores.mean(content, scale, plain, (name,))
                on = scores.mean(content, scale, f"{plain} denoise3", (name,))
                cells.append(f"{on.psnr - off.psnr:+6.2f} ({on.ssim - off.ssim:+.3f})")
            emit(f"{plain:26}" + "".join(f"{cell:>22}" for cell in cells))


def cleanup_gain(scores: Scores, emit: Callable[[str], None], degradation: str = "jpeg20") -> None:
    """Scale 1 on a JPEG image: each clean-up method's gain over leaving the image as it is."""
    if 1 not in scores.scales():
        return
    emit(f"\nx1 clean-up of {degradation}: PSNR dB / SSIM, and the gain over the untouched input")
    for content in DECIDING:
        untouched = scores.mean(content, 1, IDENTITY.label, (degradation,))
        emit(f"{content}: input {untouched.cell().strip()}")
        for mean in scores.ranked(content, 1, (degradation,)):
            if mean.method == IDENTITY.label:
                continue
            gain = f"{mean.psnr - untouched.psnr:+.2f} dB, {mean.ssim - untouched.ssim:+.3f}"
            emit(f"  {mean.method:42} {mean.cell()}   {gain}")


def print_all(scores: Iterable[Score], emit: Callable[[str], None]) -> None:
    """Every table, full ones first, the figures that decide last."""
    indexed = Scores(scores)
    full_tables(indexed, emit)
    best_tables(indexed, emit)
    denoise_gain(indexed, emit)
    cleanup_gain(indexed, emit)
    preset_choice(indexed, emit)
    preset_choice_across(indexed, emit)
