"""What a model is, as every layer of the package sees it: the spec, the options a job asks for, the
Upscaler protocol every runtime implements, and the errors.

The bottom layer: it imports nothing else of models/ (nor torch), so a registry can be listed without
loading a network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

Band = tuple[int, np.ndarray]
"""The index of a band's first row in the whole image, and its rows (n x W x C float32)."""

# How an ncnn graph is converted (models/convert/ncnn_convert.py): RRDBNet or SRVGGNetCompact in the basicsr
# layout, Real-CUGAN's UpCunet, waifu2x's cunet, waifu2x's upconv_7.
NcnnGraph = Literal["realesrgan", "realcugan", "cunet", "waifu2x-upconv7"]


@dataclass(frozen=True)
class WeightVariant:
    """One weight file of a family, and the ncnn pair (``package``'s ``models/stem``) it comes from."""

    family: str
    scale: int
    denoise: int | None
    conservative: bool
    package: str
    stem: str
    graph: NcnnGraph
    file_name: str

    def describe(self) -> str:
        """The options this file serves, as a user would name them: ``x2 denoise 1``."""
        return describe_options(self.scale, self.denoise, self.conservative)


@dataclass(frozen=True)
class FamilyOptions:
    """What a family offers: its native scales, denoise levels per scale, scales with a conservative file."""

    native_scales: tuple[int, ...]
    denoise_levels: Mapping[int, tuple[int, ...]]
    conservative_scales: tuple[int, ...]

    @property
    def has_conservative(self) -> bool:
        return bool(self.conservative_scales)


def describe_options(scale: int, denoise: int | None, conservative: bool) -> str:
    """Options as a user would name them: ``x2 denoise 1``, ``x4 no denoise``."""
    options = (["conservative"] if conservative else []) + ([] if denoise is None else [f"denoise {denoise}"])
    return " ".join([f"x{scale}", *(options or ["no denoise"])])


Content = Literal["photo", "anime", "text", "general"]
DeviceName = Literal["cpu", "cuda", "vulkan", "mps"]
BackendName = Literal["torch", "ncnn"]
Precision = Literal["fp32", "bf16"]
SCALES: tuple[int, ...] = (2, 3, 4, 8)
ProgressFn = Callable[[float], None]


def progress_span(progress: ProgressFn, start: float, width: float, end: float = 1.0) -> ProgressFn:
    """`progress` for a part of the work that spans [start, start + width) of it: the part's own fraction
    done, clamped to [0, `end`] (below 1 where the caller reports the part's end itself)."""
    return lambda fraction: progress(start + width * min(max(fraction, 0.0), end))


class Upscaler(Protocol):
    """A loaded model: turns an HxWx3 float32 RGB image in [0, 1] into exactly (H*scale) x (W*scale) x 3.

    The output comes as row bands, top to bottom (models.bands), so a huge output is never whole in float.
    """

    def bands(self, rgb: np.ndarray, scale: int, progress: ProgressFn) -> Iterator[Band]: ...


@dataclass(frozen=True)
class Options:
    """What a request asks of a model besides its scale: a denoise level, or the conservative variant."""

    denoise: int | None = None
    conservative: bool = False


PLAIN = Options()


@dataclass(frozen=True)
class ScaleOptions:
    """The options of a model at one scale: the native pass it runs and what that pass has weights for."""

    native_scale: int
    plain: bool
    denoise: tuple[int, ...]
    conservative: bool


@dataclass(frozen=True)
class Placement:
    """Where one weight file runs: its backend, device and precision, and why (for `mindrender devices`).

    Chosen by an Engine (models/devices.py) and handed to a loader, which puts its network there.
    """

    backend: BackendName
    device: DeviceName
    precision: str
    why: str


class UnsupportedVariant(LookupError):
    """No weights exist for that family, or for that combination of scale, denoise and conservative."""


class UnsupportedOption(ValueError):
    """A model has no weights for this scale, denoise or conservative mode; the message says what exists."""


@dataclass(frozen=True)
class ModelSpec:
    """One model as the engine knows it: what it is for, its native scales, its weights and its loader.

    A model is one network (classical filters, SRCNN, an operator's file: `load`, `weights`) or a family
    of weight files, one per native scale, denoise level and conservative mode (`variants`, from
    models/zoo.py); a job runs the file its scale and options choose (`weights_for`).
    """

    id: str
    name: str
    content: Content
    native_scale: int
    # Loads a one-network model where the placement says (its torch device; classical filters ignore it).
    load: Callable[[Path, Placement], Upscaler] | None = field(default=None, repr=False, compare=False)
    description: str = ""
    weights: str | None = None  # the weight file of a one-network model in the models folder, if any
    described: bool = True  # False: an operator file not yet described by `mindrender models install`
    variants: tuple[WeightVariant, ...] = ()
    # A one-network model with several native passes in its loader (the faithful model: 2, 3 and 4).
    native_passes: tuple[int, ...] = ()

    @property
    def native_scales(self) -> tuple[int, ...]:
        if self.variants:
            return tuple(sorted({v.scale for v in self.variants}))
        return self.native_passes or (self.native_scale,)

    @property
    def scales(self) -> tuple[int, ...]:
        """2, 3, 4 and 8 (a native scale, or the nearest one resampled); 1 where there are 1x weights."""
        return (1, *SCALES) if self.variants and 1 in self.native_scales else SCALES

    def native_for(self, scale: int) -> int:
        """The native pass a scale runs: its own, else the smallest above it (then downscaled: sharper than
        upscaling a smaller one), else the largest (then resampled up)."""
        natives = self.native_scales
        if scale in natives:
            return scale
        above = [n for n in natives if n > scale and n > 1]
        return min(above) if above else max(natives)

    def weights_for(self, scale: int, options: Options) -> str | None:
        """The weight file a job at this scale with these options runs (None: a model without one).

        UnsupportedOption when the model has no weights for the combination, naming what it has.
        """
        if scale not in self.scales:
            raise UnsupportedOption(f"{self.id} takes scales {', '.join(map(str, self.scales))}.")
        if options.conservative and options.denoise is not None:
            raise UnsupportedOption("conservative and denoise exclude each other: choose one.")
        if not self.variants:
            if options != PLAIN:
                raise UnsupportedOption(f"{self.id} has no denoise levels or conservative mode.")
            return self.weights
        native = self.native_for(scale)
        for variant in self.variants:
            if (variant.scale, variant.denoise, variant.conservative) == (
                native,
                options.denoise,
                options.conservative,
            ):
                return variant.file_name
        asked = "conservative" if options.conservative else "plain" if options.denoise is None else ""
        asked = asked or f"denoise {options.denoise}"
        scales_note = f"x{scale} runs the x{native} weights" if native != scale else f"at x{scale}"
        have = ", ".join(v.describe() for v in self.variants)
        raise UnsupportedOption(f"{self.id} has no {asked} {scales_note}; it has: {have}.")

    def options_at(self, scale: int) -> ScaleOptions:
        """What a job at this scale may ask for: no denoise, which denoise levels, the conservative mode."""
        native = self.native_for(scale)
        if not self.variants:
            return ScaleOptions(native, plain=True, denoise=(), conservative=False)
        at = [v for v in self.variants if v.scale == native]
        return ScaleOptions(
            native,
            plain=any(v.denoise is None and not v.conservative for v in at),
            denoise=tuple(sorted(v.denoise for v in at if v.denoise is not None)),
            conservative=any(v.conservative for v in at),
        )

    def weight_files(self) -> tuple[str, ...]:
        return tuple(v.file_name for v in self.variants) or ((self.weights,) if self.weights else ())

    def installed(self, models_dir: Path) -> bool:
        """Whether this model can run: its weights are in place (and, for an operator model, described)."""
        return self.described and all((models_dir / file).is_file() for file in self.weight_files())


class UnknownModel(LookupError):
    """No model with that id is registered."""


class DuplicateModel(ValueError):
    """Two models with one id: an operator's manifest may not reuse a built-in id (or its own)."""


class WeightsMissing(RuntimeError):
    """A model's weight file is not in the models folder (`mindrender models install` puts it there)."""
