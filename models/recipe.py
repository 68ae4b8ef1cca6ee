"""Recipes: models run one after another (a clean-up at 1x, then the upscaler) and blends of such pipelines.

A recipe is one or more branches, each a pipeline of steps, whose outputs are mixed in pixels by their
weights. A pixel blend of an accuracy model's output and a detail model's output is how the service's
`detail` control moves between the two ends (app/catalog/presets.py): the more accurate output is near the
mean of what the input allows, so moving away from it towards the detailed one costs PSNR steadily while
texture comes back (docs/benchmarks.md measures both along the way).

With a `low_band`, the later branches bring only what is finer than the input's own pixels: their low
frequencies (colour, shading, anything the input itself shows) are replaced by the first branch's. RealSR
drifts in colour and lays JPEG's blocks over smooth skies as blotches; the accurate end holds both where the
input has them, and the texture above them is the detail model's.

Memory is the engine's: each branch's last step streams its bands (models.engine) straight into the one
integer image; a later branch mixes its bands into what is there. Steps before the last run at their own
size (a 1x clean-up is the input's size, a fraction of the output's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.devices import Engine
from models.engine import release_freed_memory, upscale, upscale_bands, upscale_into
from models.imaging.bands import Band, low_pass_bands, resize_rows
from models.imaging.faces import find_faces
from models.imaging.resample import Filter
from models.imaging.text_regions import find_text
from models.spec import PLAIN, ModelSpec, Options, ProgressFn, progress_span

# How a step names its model: the caller resolves ids (the service's catalog, the bench's zoo).
SpecOf = Callable[[str], ModelSpec]


@dataclass(frozen=True)
class Step:
    """One model run: `scale` None is the recipe's scale (the upscale); 1 a clean-up at the input's size."""

    model: str
    options: Options = PLAIN
    scale: int | None = None

    def scale_at(self, scale: int) -> int:
        return scale if self.scale is None else self.scale

    def describe(self) -> str:
        options = ["conservative"] * self.options.conservative
        options += [] if self.options.denoise is None else [f"denoise {self.options.denoise}"]
        at = [] if self.scale is None else [f"at {self.scale}x"]
        return " ".join([self.model, *options, *at])


@dataclass(frozen=True)
class Branch:
    """A pipeline of steps and its share of the result."""

    weight: float
    steps: tuple[Step, ...]

    def output_scale(self, scale: int) -> int:
        """How many times the input the pipeline's output is."""
        total = 1
        for step in self.steps:
            total *= step.scale_at(scale)
        return total


@dataclass(frozen=True)
class Recipe:
    """Branches whose weights sum to 1; one branch of weight 1 is a plain pipeline (or a single model)."""

    branches: tuple[Branch, ...]
    # Run where the image holds text (models/imaging/text_regions.py), mixed in by its soft mask: a model that
    # invents no letters, over the box that holds the text.
    text: Step | None = None
    # The last branch's share where the image holds faces (models/imaging/faces.py), in place of its weight:
    # a blend of two ends keeps faces nearer its faithful one, mixed by the faces' soft mask. Nothing more
    # runs for it. None: faces are mixed as the rest.
    faces: float | None = None
    # The scale (input pixels: a Gaussian's sigma) at and above which the later branches take the first
    # branch's content in place of their own: they add only finer detail. None: they mix whole, in pixels.
    # The first branch may then weigh 0: it gives the low band, and nothing finer.
    low_band: float | None = None

    def __post_init__(self) -> None:
        # Only the first branch of a recipe with a low band may weigh nothing: it gives that band alone.
        if not self.branches or any(
            not b.steps or b.weight < 0 or (b.weight == 0 and (n or self.low_band is None))
            for n, b in enumerate(self.branches)
        ):
            raise ValueError("a recipe needs branches of positive weight, each with a step")
        if abs(sum(b.weight for b in self.branches) - 1.0) > 1e-6:
            raise ValueError("a recipe's weights must sum to 1")
        if self.faces is not None and (
            len(self.branches) != 2 or not 0 <= self.faces < self.branches[1].weight
        ):
            raise ValueError("a share over faces needs two branches, and below the last one's weight")
        if self.low_band is not None and (len(self.branches) < 2 or not self.low_band > 0):
            raise ValueError("a low band needs two branches or more, and a positive scale")

    @classmethod
    def pipeline(cls, steps: tuple[Step, ...], text: Step | None = None) -> Recipe:
        """One branch: these steps, one after the other."""
        return cls((Branch(1.0, steps),), text)

    @classmethod
    def single(cls, model: str, options: Options = PLAIN) -> Recipe:
        return cls.pipeline((Step(model, options),))

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step, in the order they run (the text step last, where there is one)."""
        text = () if self.text is None else (self.text,)
        return (*(step for branch in self.branches for step in branch.steps), *text)

    def check(self, scale: int) -> None:
        """Every branch must end at `scale` times the input."""
        for branch in self.branches:
            if branch.output_scale(scale) != scale:
                raise ValueError(f"a branch ends at x{branch.output_scale(scale)}, not x{scale}")

    def describe(self) -> str:
        """For people: `faithful 40 % + waifu2x-cunet denoise 1 at 1x, then realsr-df2k 60 %`."""
        parts = [", then ".join(step.describe() for step in branch.steps) for branch in self.branches]
        if len(parts) == 1:
            return parts[0]
        mixed = " + ".join(
            f"{part} {round(b.weight * 100)} %"
            for part, b in zip(parts, self.branches, strict=True)
            if b.weight > 0
        )
        notes = [] if self.faces is None else [f"{round(self.faces * 100)} % on faces"]
        notes += [] if self.low_band is None else [f"colour and shading from {parts[0]}"]
        return f"{mixed} ({'; '.join(notes)})" if notes else mixed


def _shares(steps: Sequence[Step], costs: Sequence[float]) -> list[tuple[float, float]]:
    """Each step's (start, width) of the job's progress, by its share of the cost."""
    total = sum(costs) or 1.0
    shares, start = [], 0.0
    for cost in costs:
        shares.append((start, cost / total))
        start += cost / total
    assert len(shares) == len(steps)
    return shares


@contextmanager
def _timing(timed: Callable[[Step, float], None] | None, step: Step) -> Iterator[None]:
    """Tell `timed` how long the block ran, for this step."""
    started = time.perf_counter()
    yield
    if timed is not None:
        timed(step, time.perf_counter() - started)


def run_recipe_to_integers(
    image: np.ndarray,
    recipe: Recipe,
    scale: int,
    spec_of: SpecOf,
    models_dir: Path,
    progress: ProgressFn,
    bit_depth: int,
    costs: Sequence[float] | None = None,
    engine: Engine | None = None,
    timed: Callable[[Step, float], None] | None = None,
) -> np.ndarray:
    """The recipe's result quantised to uint8 or uint16, as `models.engine.upscale_to_integers` builds one.

    `costs`: each step's expected cost (seconds), in `recipe.steps` order, which splits the progress between
    them (equal shares without). `timed` hears each step's seconds once it ends.
    """
    recipe.check(scale)
    steps = recipe.steps
    shares = _shares(steps, costs if costs is not None else [1.0] * len(steps))
    step_progress = iter([progress_span(progress, start, width) for start, width in shares])
    dtype, top = (np.uint16, 65535.0) if bit_depth == 16 else (np.uint8, 255.0)
    height, width, channels = image.shape
    out = np.empty((height * scale, width * scale, channels), dtype=dtype)
    faces = None if recipe.faces is None else find_faces(image)
    face_mask = None if faces is None or not faces.boxes else faces.mask[:, :, None]
    # The input rows the faces' mask covers: a band well away from them mixes as the rest, with no mask.
    face_rows = (0, -1) if face_mask is None else _rows_covered(face_mask)
    mixed = 0.0
    try:
        for index, branch in enumerate(recipe.branches):
            source = image
            for step in branch.steps[:-1]:
                with _timing(timed, step):
                    spec = spec_of(step.model)
                    at = step.scale_at(scale)
                    source = upscale(source, spec, at, models_dir, next(step_progress), step.options, engine)
            last = branch.steps[-1]
            with _timing(timed, last):
                spec, at = spec_of(last.model), last.scale_at(scale)
                if index == 0:
                    # The first branch is quantised straight into the image, where its model runs (a GPU
                    # sends integers home); later ones mix into it on the host.
                    upscale_into(out, source, spec, at, models_dir, next(step_progress), last.options, engine)
                else:
                    bands = upscale_bands(
                        source, spec, at, models_dir, next(step_progress), last.options, engine
                    )
                    if recipe.low_band is not None:
                        bands = above_low_band(bands, out, top, recipe.low_band * scale)
                    # The running mix: what is in `out` is the blend of the branches so far, by their weights.
                    keep = mixed / (mixed + branch.weight)
                    for row0, rows in bands:
                        target = out[row0 : row0 + len(rows)]
                        near = (
                            row0 // scale - 2 <= face_rows[1]
                            and (row0 + len(rows)) // scale + 2 >= face_rows[0]
                        )
                        if keep and face_mask is not None and recipe.faces is not None and near:
                            # Over faces the share falls from the branch's weight to `faces`, by the mask.
                            share = resize_rows(
                                face_mask,
                                width * scale,
                                height * scale,
                                row0,
                                row0 + len(rows),
                                Filter.BILINEAR,
                            )
                            kept = np.clip(share, 0.0, 1.0) * np.float32(branch.weight - recipe.faces)
                            kept += np.float32(keep)
                            rows *= top * (1.0 - kept)
                            rows += target * kept
                        else:
                            np.multiply(rows, top * (1.0 - keep), out=rows)
                            if keep:  # zero after a first branch of no weight, which gave the low band
                                rows += target * np.float32(keep)
                        np.rint(rows, out=target, casting="unsafe")
            del source
            mixed += branch.weight
        if recipe.text is not None:
            with _timing(timed, recipe.text):
                text_progress = next(step_progress)
                _mix_text(out, image, recipe.text, scale, spec_of, models_dir, text_progress, top, engine)
    finally:
        release_freed_memory()
    return out


def _rows_covered(mask: np.ndarray) -> tuple[int, int]:
    """The first and last rows where `mask` is above 0 ((0, -1) where it is nowhere)."""
    rows = np.flatnonzero(mask.reshape(len(mask), -1).max(axis=1) > 0)
    return (int(rows[0]), int(rows[-1])) if len(rows) else (0, -1)


def above_low_band(bands: Iterator[Band], mix: np.ndarray, top: float, sigma: float) -> Iterator[Band]:
    """A branch's bands with their low band (a Gaussian blur of `sigma` output pixels) replaced by that of
    the mix so far in `mix` (integer levels of `top`): the branch plus the blur of (mix - branch).

    The blur reads rows ahead, so a band leaves a few rows after it came: until then its rows of `mix` are
    not yet written over, and the mix is read only where it still is the earlier branches' alone.
    """
    scale = np.float32(1.0 / top)
    held: list[np.ndarray] = []  # the branch's rows that came and have not left, from row `held_from`
    held_from = 0

    def differences() -> Iterator[Band]:
        for row0, rows in bands:
            held.append(rows)
            difference = mix[row0 : row0 + len(rows)].astype(np.float32)  # one band's copy, then in place
            difference *= scale
            difference -= rows
            yield row0, difference

    for row0, low in low_pass_bands(differences(), len(mix), sigma):
        rows = held[0] if len(held) == 1 else np.concatenate(held)
        low += rows[row0 - held_from : row0 - held_from + len(low)]
        held[:] = [rows[row0 - held_from + len(low) :]]
        held_from = row0 + len(low)
        yield row0, np.clip(low, 0.0, 1.0, out=low)  # the sum may overshoot where the two differ at an edge


def _mix_text(
    out: np.ndarray,
    image: np.ndarray,
    step: Step,
    scale: int,
    spec_of: SpecOf,
    models_dir: Path,
    progress: ProgressFn,
    top: float,
    engine: Engine | None,
) -> None:
    """Run `step` over the box that holds the image's text and mix it into `out` by the feathered mask."""
    regions = find_text(image)
    if regions.box is None:
        progress(1.0)
        return
    y0, y1, x0, x1 = regions.box
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    weight = regions.mask[y0:y1, x0:x1, None]
    width, height = (x1 - x0) * scale, (y1 - y0) * scale
    bands = upscale_bands(crop, spec_of(step.model), scale, models_dir, progress, step.options, engine)
    for row0, rows in bands:
        share = np.clip(resize_rows(weight, width, height, row0, row0 + len(rows), Filter.BILINEAR), 0.0, 1.0)
        target = out[y0 * scale + row0 : y0 * scale + row0 + len(rows), x0 * scale : x1 * scale]
        mixed = rows * (top * share) + target * (1.0 - share)
        np.rint(mixed, out=target, casting="unsafe")


def _step_data(step: Step) -> dict[str, object]:
    return {
        "model": step.model,
        "scale": step.scale,
        "denoise": step.options.denoise,
        "conservative": step.options.conservative,
    }


def _step_from(data: dict[str, Any]) -> Step:
    options = Options(data.get("denoise"), bool(data.get("conservative", False)))
    return Step(str(data["model"]), options, data.get("scale"))


def recipe_to_data(recipe: Recipe) -> dict[str, object]:
    """Plain data (for JSON): `{"branches": [{"weight", "steps": [{"model", "scale", ...}]}], "text",
    "faces", "low_band"}`."""
    branches = [
        {"weight": round(branch.weight, 6), "steps": [_step_data(step) for step in branch.steps]}
        for branch in recipe.branches
    ]
    text = None if recipe.text is None else _step_data(recipe.text)
    return {"branches": branches, "text": text, "faces": recipe.faces, "low_band": recipe.low_band}


def recipe_from_data(data: dict[str, Any]) -> Recipe:
    """The recipe `recipe_to_data` wrote."""
    branches = tuple(
        Branch(float(branch["weight"]), tuple(_step_from(step) for step in branch["steps"]))
        for branch in data["branches"]
    )
    text, faces, low_band = data.get("text"), data.get("faces"), data.get("low_band")
    return Recipe(
        branches,
        None if text is None else _step_from(text),
        None if faces is None else float(faces),
        None if low_band is None else float(low_band),
    )
