"""Perception and distortion together, on inputs made the way real uploads are made.

    python -m bench.perception run [--scales 2,4] [--sets bicubic,web,...] [--methods ...] [--out FILE]
    python -m bench.perception tables FILE        # the tables again, from a saved run
    python -m bench.perception plot FILE OUT.png  # the perception-distortion plane, one panel per set
    python -m bench.perception sheet OUT.png [--scale 4] [--sets ...] [--methods ...]  # a contact sheet

Held-out photos (never trained on): scikit-image's validation photographs and one photo from each Debian
wallpaper package (`make bench-data` installs them), area-downscaled so their long side is 1024 px (what
is left is sharp and free of the original's JPEG), then cut into the most textured 192-px crops. Each set
degrades the crops as uploads are degraded (`SETS`): the classical bicubic shrink, and the web's area
shrink with JPEG at q90 to q30, or camera-like blur and noise. Each method runs on every crop; the table
gives the luma PSNR over bicubic (higher is more faithful), NIQE on a mosaic of the crops and PIQE (both
lower look more natural), seconds per input megapixel on this machine and the credits a 1-MP upload
costs. A method is a pipeline of stages: `waifu2x-cunet:d1@1 > realsr-df2k` cleans up at 1x with denoise
1, then upscales; `0.3*faithful + 0.7*realsr-df2k` mixes two in pixels; `photo@70` is the photo preset at
detail 70, which reads each upload's damage from its file and runs what a job would (models/recipe.py).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from app.catalog.presets import PRESETS
from app.catalog.prices import BUILTIN_TERMS, credits_for_stages
from bench.perception_plot import draw_plane
from models.imaging.analysis import analyse
from models.imaging.bands import assemble
from models.imaging.faces import find_faces
from models.recipe import Branch, Recipe, Step, above_low_band, run_recipe_to_integers
from models.runtimes.srcnn import rgb_to_ycbcr
from models.spec import PLAIN, Options
from models.zoo import builtin
from training.datasets import VALIDATION_IMAGES, load_rgb
from training.metrics import psnr
from training.perception import mosaic, niqe, piqe

CROP = 192  # two NIQE blocks a side at x1; at x4 the model sees 48 px
CROPS_PER_PHOTO = 2
SMOOTH_FLOOR = 0.002  # mean gradient energy (luma in [0, 1]) below which a crop is uniform, not smooth
LONG_SIDE = 1024
BORDER = 4
# One held-out photo per Debian package whose photos may train our networks (issue #30), plus scikit-image's.
WALLPAPERS: dict[str, Path] = {
    "ladybird": Path("/usr/share/backgrounds/mate/nature/LadyBird.jpg"),  # mate-backgrounds
    "kleiber": Path("/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg"),  # lomiri-wallpapers-20.04
    "after-the-rain": Path("/usr/share/lxqt/wallpapers/after-the-rain.jpg"),  # lxqt-themes
}
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea")


@dataclass(frozen=True)
class Damage:
    """How an upload was made from the clean picture: the shrink, then blur, noise and JPEG."""

    name: str
    shrink: Image.Resampling = Image.Resampling.BICUBIC  # BOX: the area average of most web tools
    blur_sigma: float = 0.0  # Gaussian, in input pixels: a soft lens or a phone's processing
    noise_sigma: float = 0.0  # 8-bit levels, per channel
    jpeg_quality: int | None = None


SETS: tuple[Damage, ...] = (
    Damage("bicubic"),
    Damage("web", Image.Resampling.BOX, jpeg_quality=80),
    Damage("jpeg90", Image.Resampling.BOX, jpeg_quality=90),
    Damage("jpeg50", Image.Resampling.BOX, jpeg_quality=50),
    Damage("jpeg30", Image.Resampling.BOX, jpeg_quality=30),
    Damage("camera", Image.Resampling.BOX, blur_sigma=0.7, noise_sigma=4.0, jpeg_quality=90),
)


def _step(text: str) -> Step:
    """`model`, `model:d2` (denoise 2), `model:c` (conservative), with `@1` for a 1x clean-up."""
    text, _, at = text.strip().partition("@")
    model, _, option = text.partition(":")
    options = PLAIN
    if option.startswith("d"):
        options = Options(denoise=int(option[1:]))
    elif option == "c":
        options = Options(conservative=True)
    return Step(model, options, int(at) if at else None)


def _branch(text: str) -> Branch:
    """`0.6*(a@1 > b)`, `0.4*faithful`, or a plain pipeline `a@1 > b` (weight 1)."""
    weight, star, rest = text.strip().partition("*")
    if not star:
        weight, rest = "1", text
    steps = rest.strip().removeprefix("(").removesuffix(")")
    return Branch(float(weight), tuple(_step(part) for part in steps.split(">")))


@dataclass(frozen=True)
class Method:
    """A method as the tables name it: a recipe of models/recipe.py (what jobs run), from its label; or a
    preset at a detail (`photo@70`), which reads each upload's damage as a job does and runs its recipe."""

    label: str
    recipe: Recipe
    preset: str | None = None
    detail: int | None = None

    @classmethod
    def parse(cls, text: str) -> Method:
        """`a@1 > b` a pipeline; `0.4*faithful + 0.6*(a@1 > b)` a pixel blend of two; `photo@70` a preset."""
        name, at, detail = text.strip().partition("@")
        if at and name in PRESETS and detail.isdigit():
            preset = PRESETS[name]
            return cls(text.strip(), preset.recipe(0, int(detail)), name, int(detail))
        return cls(text.strip(), Recipe(tuple(_branch(part) for part in text.split(" + "))))

    def resolved(self, image: np.ndarray) -> Recipe:
        """What runs on this upload: a preset's recipe for the damage a job reads from its file."""
        if self.preset is None:
            return self.recipe
        preset = PRESETS[self.preset]
        level = preset.level_of(analyse(_UPLOADS[_key(image)]).damage)
        return preset.recipe(level, self.detail)


DEFAULT_METHODS = (
    "bicubic",
    "lanczos",
    "srcnn",
    "faithful",
    "waifu2x-photo",
    "waifu2x-photo:d1",
    "waifu2x-photo:d3",
    "waifu2x-cunet",
    "realcugan-pro:c",
    "realcugan-se",
    "realesr-animevideov3",
    "realesrgan-x4plus",
    "realsr-df2k",
    "waifu2x-cunet:d1@1 > realsr-df2k",
    "waifu2x-cunet:d2@1 > realsr-df2k",
    "waifu2x-cunet:d1@1 > realesrgan-x4plus",
)


@dataclass(frozen=True)
class Crop:
    """A clean crop: CROP x CROP float32 RGB in [0, 1]."""

    name: str
    rgb: np.ndarray


def _cells(rgb: np.ndarray) -> list[tuple[float, int, int]]:
    """Every non-overlapping CROP x CROP cell: its mean gradient energy (luma in [0, 1]), top-left corner."""
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    energy = np.abs(np.diff(luma, axis=0))[:, :-1] + np.abs(np.diff(luma, axis=1))[:-1, :]
    return [
        (float(energy[y : y + CROP, x : x + CROP].mean()), y, x)
        for y in range(0, energy.shape[0] - CROP + 1, CROP)
        for x in range(0, energy.shape[1] - CROP + 1, CROP)
    ]


def _most_textured(rgb: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Top-left corners of the `count` non-overlapping crops with the most gradient energy."""
    return [(y, x) for _, y, x in sorted(_cells(rgb), reverse=True)[:count]]


def _least_textured(rgb: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Top-left corners of the `count` non-overlapping crops with the least gradient energy that are not
    uniform: skies, walls, out-of-focus backgrounds, where a detail model has nothing to restore."""
    return [(y, x) for energy, y, x in sorted(_cells(rgb)) if energy > SMOOTH_FLOOR][:count]


def photos() -> dict[str, np.ndarray]:
    """The held-out photos, long side LONG_SIDE (scikit-image's are smaller and stay as they are)."""
    found = {name: load_rgb(VALIDATION_IMAGES[name]) for name in SKIMAGE_PHOTOS}
    for name, path in WALLPAPERS.items():
        if not path.exists():
            print(f"{path} is missing (make bench-data): {name} left out", file=sys.stderr)
            continue
        picture = Image.open(path).convert("RGB")
        ratio = LONG_SIDE / max(picture.size)
        picture = picture.resize(
            (round(picture.width * ratio), round(picture.height * ratio)), Image.Resampling.BOX
        )
        found[name] = np.asarray(picture, dtype=np.float32) / 255.0
    return found


def crops(smooth: bool = False) -> list[Crop]:
    """CROPS_PER_PHOTO crops of every held-out photo: the most textured, or (`smooth`) the least."""
    where = _least_textured if smooth else _most_textured
    return [
        Crop(f"{name}-{index}", rgb[y : y + CROP, x : x + CROP])
        for name, rgb in photos().items()
        for index, (y, x) in enumerate(where(rgb, CROPS_PER_PHOTO))
    ]


def degrade(clean: np.ndarray, scale: int, damage: Damage, key: str) -> np.ndarray:
    """The upload: shrunk by `scale`, blurred, in 8-bit levels with noise, then JPEG (4:2:0); seeded."""
    size = clean.shape[0] // scale
    pixels = Image.fromarray(np.rint(np.clip(clean, 0.0, 1.0) * 255.0).astype(np.uint8))
    if scale > 1:
        pixels = pixels.resize((size, size), damage.shrink)
    if damage.blur_sigma:
        pixels = pixels.filter(ImageFilter.GaussianBlur(damage.blur_sigma))
    levels = np.asarray(pixels, dtype=np.float64)
    if damage.noise_sigma:
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        levels = levels + rng.normal(0.0, damage.noise_sigma, levels.shape)
    pixels = Image.fromarray(np.clip(np.rint(levels), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    if damage.jpeg_quality is not None:
        pixels.save(buffer, "JPEG", quality=damage.jpeg_quality)
        pixels = Image.open(buffer).convert("RGB")
    else:
        pixels.save(buffer, "PNG")
    upload = np.asarray(pixels, dtype=np.float32) / 255.0
    _UPLOADS[_key(upload)] = buffer.getvalue()  # the file, for a preset to read its damage as a job does
    return upload


def _ignore_progress(_fraction: float) -> None:
    return None


# Each pipeline's 8-bit output per input: blends of the same pipelines (a `detail` sweep) run each once.
_OUTPUTS: dict[tuple[object, ...], np.ndarray] = {}


_UPLOADS: dict[tuple[int, tuple[int, ...]], bytes] = {}


def _key(image: np.ndarray) -> tuple[int, tuple[int, ...]]:
    return zlib.crc32(image.tobytes()), image.shape


def _pipeline(steps: tuple[Step, ...], image: np.ndarray, scale: int, models_dir: Path) -> np.ndarray:
    key = (*_key(image), steps, scale)
    if key not in _OUTPUTS:
        recipe = Recipe.pipeline(steps)
        levels = run_recipe_to_integers(image, recipe, scale, builtin, models_dir, _ignore_progress, 8)
        _OUTPUTS[key] = levels.astype(np.float32)
    return _OUTPUTS[key]


def run_recipe(method: Method, image: np.ndarray, scale: int, models_dir: Path) -> np.ndarray:
    """The method's output, in 8-bit levels as a job delivers it, exactly `scale` times the input.

    Pipelines run as jobs run them (models/recipe.py); a blend mixes its pipelines' 8-bit outputs by their
    weights, the detailed one over the faithful one's low band where the recipe says so (a job mixes each
    band as it comes, within half a level of this). Where the recipe calms faces and the upload has one,
    the job's own runner makes it.
    """
    recipe = method.resolved(image)
    if recipe.faces is not None and find_faces(image).boxes:  # mixed by the faces' mask: as the job does
        levels = run_recipe_to_integers(image, recipe, scale, builtin, models_dir, _ignore_progress, 8)
        return levels.astype(np.float32) / 255.0
    outputs = [_pipeline(branch.steps, image, scale, models_dir) for branch in recipe.branches]
    if recipe.low_band is not None:  # the detailed end over the faithful one's low band, as jobs run it
        first, sigma = outputs[0].astype(np.uint8), recipe.low_band * scale
        outputs[1:] = [
            assemble(above_low_band(iter([(0, out / 255.0)]), first, 255.0, sigma), len(out)) * 255.0
            for out in outputs[1:]
        ]
    mixed = sum(branch.weight * out for branch, out in zip(recipe.branches, outputs, strict=True))
    delivered: np.ndarray = np.rint(np.asarray(mixed, dtype=np.float32)).astype(np.float32) / 255.0
    return delivered


def luma_psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """PSNR of the luma, BORDER pixels left out on each side."""
    return psnr(rgb_to_ycbcr(estimate)[:, :, 0], rgb_to_ycbcr(truth)[:, :, 0], BORDER)


def credits_per_mp(recipe: Recipe, scale: int) -> int:
    """What a 1-MP upload at this scale costs, as a job is priced (the steps' worth rounded once)."""
    stages = [(BUILTIN_TERMS[s.model].pricing, 1_000_000 * s.scale_at(scale) ** 2) for s in recipe.steps]
    return credits_for_stages(stages)


@dataclass(frozen=True)
class Point:
    """One method on one set at one scale: a point of the perception-distortion plane, and its cost."""

    scale: int
    set: str
    method: str
    psnr: float
    psnr_gain: float  # over bicubic on the same inputs
    niqe: float
    piqe: float
    seconds_per_mp: float
    credits_per_mp: int


def measure(
    recipes: list[Method],
    sets: list[Damage],
    scales: list[int],
    models_dir: Path,
    log: Callable[[str], None],
    smooth: bool = False,
) -> list[Point]:
    """Every recipe on every set and scale, on the most textured crops or (`smooth`) the least."""
    truths = crops(smooth)
    points = []
    for scale in scales:
        for damage in sets:
            inputs = [degrade(c.rgb, scale, damage, f"{c.name}/{damage.name}/x{scale}") for c in truths]
            reference = Method.parse("bicubic")
            baseline = np.mean(
                [
                    luma_psnr(run_recipe(reference, i, scale, models_dir), c.rgb)
                    for i, c in zip(inputs, truths, strict=True)
                ]
            )
            for recipe in recipes:
                started = time.perf_counter()
                outputs = [run_recipe(recipe, image, scale, models_dir) for image in inputs]
                seconds = time.perf_counter() - started
                megapixels = sum(i.shape[0] * i.shape[1] for i in inputs) / 1e6
                score = float(np.mean([luma_psnr(o, c.rgb) for o, c in zip(outputs, truths, strict=True)]))
                sheet = mosaic(outputs, columns=4)
                point = Point(
                    scale=scale,
                    set=damage.name,
                    method=recipe.label,
                    psnr=round(score, 3),
                    psnr_gain=round(score - float(baseline), 3),
                    niqe=round(niqe(sheet), 3),
                    piqe=round(piqe(sheet), 2),
                    seconds_per_mp=round(seconds / megapixels, 1),
                    credits_per_mp=credits_per_mp(recipe.resolved(inputs[0]), scale),
                )
                points.append(point)
                log(
                    f"x{scale} {damage.name:8} {recipe.label:42} {point.psnr_gain:+6.2f} dB "
                    f"NIQE {point.niqe:5.2f} PIQE {point.piqe:5.1f} {point.seconds_per_mp:7.1f} s/MP"
                )
    return points


# What the sheet shows: a face (plastic skin shows first there), bark and feathers, a cat's fur.
SHEET_CROPS: dict[str, tuple[str, int, int]] = {
    "face": ("astronaut", 40, 150),
    "bird": ("kleiber", 196, 380),
    "fur": ("chelsea", 60, 130),
}
TILE = 128


def draw_sheet(recipes: list[Method], sets: list[Damage], scale: int, models_dir: Path, out: Path) -> None:
    """A contact sheet: for each crop and set, the truth, the upload (nearest, to see it) and each
    recipe's result, the middle TILE px at 1:1, labelled with its PSNR over bicubic on that crop."""
    from PIL import ImageDraw

    pictures = photos()
    cells = []
    for crop_name, (photo, top, left) in SHEET_CROPS.items():
        if photo not in pictures:
            continue
        truth = pictures[photo][top : top + CROP, left : left + CROP]
        for damage in sets:
            upload = degrade(truth, scale, damage, f"sheet/{crop_name}/{damage.name}/x{scale}")
            bicubic = luma_psnr(run_recipe(Method.parse("bicubic"), upload, scale, models_dir), truth)
            shown = np.repeat(np.repeat(upload, scale, axis=0), scale, axis=1)
            row = [(truth, f"{crop_name}: original", ""), (shown, f"upload ({damage.name})", "")]
            for recipe in recipes:
                result = run_recipe(recipe, upload, scale, models_dir)
                row.append((result, recipe.label, f"{luma_psnr(result, truth) - bicubic:+.2f} dB"))
            cells.append(row)
    label_h = 30
    width = max(len(row) for row in cells) * (TILE + 4)
    sheet = Image.new("RGB", (width, len(cells) * (TILE + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(cells):
        for c, (image, first, second) in enumerate(row):
            x, y = c * (TILE + 4), r * (TILE + label_h)
            middle = (CROP - TILE) // 2
            tile = np.rint(np.clip(image[middle : middle + TILE, middle : middle + TILE], 0, 1) * 255)
            sheet.paste(Image.fromarray(tile.astype(np.uint8)), (x, y))
            draw.text((x, y + TILE + 2), first[:24], fill="black")
            draw.text((x, y + TILE + 14), (first[24:] + " " + second).strip(), fill="#444")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(f"{out}: {sheet.width}x{sheet.height}")


def table(points: list[Point]) -> str:
    """Markdown: one table per scale and set, best NIQE first."""
    lines = []
    for scale in sorted({p.scale for p in points}):
        for name in [d.name for d in SETS if any(p.set == d.name and p.scale == scale for p in points)]:
            lines += [
                f"\n**x{scale}, {name}**\n",
                "| method | dB over bicubic | NIQE | PIQE | s per input MP | credits per MP |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            chosen = sorted((p for p in points if p.scale == scale and p.set == name), key=lambda p: p.niqe)
            lines += [
                f"| {p.method} | {p.psnr_gain:+.2f} | {p.niqe:.2f} | {p.piqe:.1f} | "
                f"{p.seconds_per_mp:.0f} | {p.credits_per_mp} |"
                for p in chosen
            ]
    return "\n".join(lines)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="measure, print the tables, save the points")
    run.add_argument("--scales", default="2,4")
    run.add_argument("--sets", default=",".join(d.name for d in SETS))
    run.add_argument("--methods", default=";".join(DEFAULT_METHODS), help="recipes separated by ';'")
    run.add_argument("--models-dir", type=Path, default=Path("var/models"))
    run.add_argument("--out", type=Path, default=Path("var/bench/perception.json"))
    run.add_argument("--smooth", action="store_true", help="the least textured crops: skies, backgrounds")
    sheet = commands.add_parser("sheet", help="a contact sheet of the recipes on a face, a bird and fur")
    sheet.add_argument("out", type=Path)
    sheet.add_argument("--scale", type=int, default=4)
    sheet.add_argument("--sets", default="bicubic,web,jpeg30")
    sheet.add_argument("--methods", default=";".join(DEFAULT_METHODS), help="recipes separated by ';'")
    sheet.add_argument("--models-dir", type=Path, default=Path("var/models"))
    tables = commands.add_parser("tables", help="print the tables of a saved run")
    tables.add_argument("file", type=Path)
    plot = commands.add_parser("plot", help="draw the perception-distortion plane of a saved run")
    plot.add_argument("file", type=Path)
    plot.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        recipes = [Method.parse(text) for text in args.methods.split(";") if text.strip()]
        sets = [d for d in SETS if d.name in args.sets.split(",")]
        scales = [int(s) for s in args.scales.split(",")]
        points = measure(recipes, sets, scales, args.models_dir, log, args.smooth)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([asdict(p) for p in points], indent=1))
        print(table(points))
    elif args.command == "sheet":
        recipes = [Method.parse(text) for text in args.methods.split(";") if text.strip()]
        sets = [d for d in SETS if d.name in args.sets.split(",")]
        draw_sheet(recipes, sets, args.scale, args.models_dir, args.out)
    elif args.command == "tables":
        print(table([Point(**p) for p in json.loads(args.file.read_text())]))
    else:
        draw_plane([Point(**p) for p in json.loads(args.file.read_text())], args.out)


if __name__ == "__main__":
    main()
