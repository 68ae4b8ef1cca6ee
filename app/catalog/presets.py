"""Presets: what a person is upscaling (photo, anime, text), `faithful`, and `auto`, which looks at the image.

Each preset picks what runs per damage level (0 clean, 1 light, 2 medium, 3 heavy), which it reads from the
image itself (models/imaging/analysis.py: a JPEG's own quantisation tables, else blockiness and noise) unless
a `denoise` hint names it (0 light, 1 medium, 2 and 3 heavy). A pick is a model with its options, or a
pipeline: a clean-up at 1x, then the upscaler (`Pick.clean_up`).

The `detail` control (0-100) moves between two ends per level, chosen on the perception-distortion plane
(bench/perception.py; docs/benchmarks.md, "Detail and the presets"): `picks` is the most faithful result we
make (the best PSNR; what the presets ran before issue #30), `detail_picks` the most detailed one that
invents nothing (a detail model trained on real degradations, behind a clean-up where the upload carries
JPEG damage; never a GAN that redraws faces or letters). In between the two outputs are mixed in pixels
(models/recipe.py), which measured monotone: PSNR falls and NIQE falls as `detail` rises. Text and
illustrations have one end (no detail model runs on text: it invents letters), `faithful` too.

A clip runs each preset's `video_pick`, a model /v1/models marks steady (the detail models shimmer from
frame to frame). `auto` reads the content and the damage and picks from the preset named after that content
(photo, anime, text): `faithful` is a choice of purpose, not of content, so `auto` never makes it
(tests/catalog/test_auto_preset.py). A preset picks the variant too: `conservative` beside one is refused,
not dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from models.imaging.analysis import Damage
from models.recipe import Branch, Recipe, Step
from models.spec import Options

AUTO = "auto"


@dataclass(frozen=True)
class Pick:
    """A model and its options, after an optional clean-up at 1x (a pipeline)."""

    model: str
    denoise: int | None = None
    conservative: bool = False
    clean_up: Pick | None = None

    @property
    def options(self) -> Options:
        return Options(self.denoise, self.conservative)

    def steps(self) -> tuple[Step, ...]:
        first = () if self.clean_up is None else (Step(self.clean_up.model, self.clean_up.options, 1),)
        return (*first, Step(self.model, self.options))

    def describe(self) -> str:
        return ", then ".join(step.describe() for step in self.steps())


DETAIL_RANGE = (0, 100)


def detail_weight(detail: int, floor: float = 0.0) -> float:
    """The detailed end's weight at `detail`: from `floor` at 0 to 1 at 100, linearly."""
    return floor + (1.0 - floor) * detail / DETAIL_RANGE[1]


# The detailed end adds only what is finer than this (input pixels, a Gaussian's sigma): colour and shading
# come from the faithful end (models/recipe.py, `low_band`). RealSR shifts colours and blotches smooth
# skies; over the faithful end's low band the photo preset at its default detail gained 1.9-3.2 dB on the
# smooth held-out crops of clean and JPEG uploads and 0.1-0.35 dB on textured ones, NIQE within 0.05
# (docs/benchmarks.md, "The low band").
LOW_BAND = 1.0


def blend(faithful: Pick, detailed: Pick, detail: int, floor: float = 0.0) -> Recipe:
    """The recipe at `detail` between a preset's two ends: the detailed end's weight goes from `floor` at
    detail 0 to 1 at 100, linearly, over the faithful end's low band (at 100 the faithful end runs for that
    band alone); a weight of 0 runs the faithful end alone."""
    weight = detail_weight(detail, floor)
    if faithful == detailed or weight <= 0:
        return Recipe.pipeline(faithful.steps())
    weight = min(weight, 1.0)
    branches = (Branch(1.0 - weight, faithful.steps()), Branch(weight, detailed.steps()))
    return Recipe(branches, low_band=LOW_BAND)


@dataclass(frozen=True)
class Preset:
    """A named use case and what it runs at each damage level, from its faithful end to its detailed one."""

    id: str
    name: str
    description: str
    picks: tuple[Pick, Pick, Pick, Pick]
    video_pick: Pick
    detail_picks: tuple[Pick, Pick, Pick, Pick] | None = None
    default_detail: int | None = None
    # The detailed end's share at detail 0: where a little of it is more faithful than none (PSNR peaks
    # with some of the detail model's output mixed in), detail 0 is that peak, so PSNR falls steadily from 0.
    detail_floor: float = 0.0
    # Light noise without JPEG damage (a camera's), read as clean: a detail model trained on camera noise
    # keeps the texture that a clean-up would smooth away.
    light_noise_is_clean: bool = False
    # Run where the image holds text (models/imaging/text_regions.py), mixed in by its mask: a detail model
    # draws small letters into new ones, this one keeps them readable.
    text_pick: Pick | None = None
    # The detail over faces (models/imaging/faces.py) where the chosen one is higher and both ends run: the
    # detail model ages a face (creases, mottled skin), and a face is what a viewer looks at first.
    face_detail: int | None = None

    @property
    def model(self) -> str:
        """What it runs on a clean image, at its default detail's more detailed end."""
        return self.detailed(0).model if self.default_detail else self.picks[0].model

    @property
    def has_detail(self) -> bool:
        return self.detail_picks is not None

    def level_of(self, damage: Damage) -> int:
        """The damage level the preset acts on for what was read from an image."""
        noise_only = damage.jpeg_quality is None and not damage.blocky
        if self.light_noise_is_clean and noise_only and damage.level <= 1:
            return 0
        return damage.level

    def pick(self, level: int) -> Pick:
        return self.picks[max(0, min(level, 3))]

    def detailed(self, level: int) -> Pick:
        return (self.detail_picks or self.picks)[max(0, min(level, 3))]

    def recipe(self, level: int, detail: int | None, text: bool = False) -> Recipe:
        """What runs on an image at this damage level and `detail` (None: the preset's default); `text`:
        the image holds text, which the preset's text pick runs on."""
        if not self.has_detail:
            return Recipe.pipeline(self.pick(level).steps())
        chosen = (self.default_detail if detail is None else detail) or 0
        recipe = blend(self.pick(level), self.detailed(level), chosen, self.detail_floor)
        faces = None  # both ends mix, and the detail asked for is above the faces' own (100: everywhere)
        mixing = len(recipe.branches) == 2 and recipe.branches[0].weight > 0
        if self.face_detail is not None and mixing and chosen > self.face_detail:
            faces = detail_weight(self.face_detail, self.detail_floor)
        return replace(recipe, text=self.text_step(text), faces=faces)

    def text_step(self, text: bool) -> Step | None:
        """What runs over the image's text where it holds some (`text`) and the preset keeps text apart."""
        return self.text_pick.steps()[-1] if text and self.text_pick is not None else None


def level_of_hint(denoise: int | None) -> int:
    """The damage level a `denoise` hint on a preset names (None: clean)."""
    return 0 if denoise is None else min(denoise + 1, 3)


# The clean-ups at 1x: waifu2x CUNet, the one model with 1x weights, at the damage's strength. It is also
# what `auto` runs at scale 1 (clean-up without resizing), at its denoise level per damage level from the
# scale-1 table of docs/benchmarks.md: denoise 0 on clean and lightly damaged images, 3 from medium damage
# on (denoise 1 lost 1.3 dB to it on medium photos).
CLEAN_UP_MODEL = "waifu2x-cunet"
AUTO_CLEAN_UP_DENOISE = (0, 0, 3, 3)
_CLEAN_LIGHTEST = Pick(CLEAN_UP_MODEL, denoise=0)
_CLEAN_LIGHT = Pick(CLEAN_UP_MODEL, denoise=1)
_CLEAN_MEDIUM = Pick(CLEAN_UP_MODEL, denoise=2)
DETAIL_MODEL = "realsr-df2k"

PRESETS: dict[str, Preset] = {
    preset.id: preset
    for preset in (
        Preset(
            "photo",
            "Photo",
            "Photographs: real texture restored (skin, bark, fur) by a detail model trained on camera "
            "degradations, after a clean-up where the upload carries JPEG damage. Detail moves from the "
            "most faithful result (0) to the most detailed (100).",
            # Detail 0, the best PSNR per level: faithful on clean input (+1.8 dB over bicubic at x4),
            # waifu2x photo with denoise on JPEG damage (+0.8 dB on web uploads, where faithful loses 0.3).
            (
                Pick("faithful"),
                Pick("waifu2x-photo", denoise=1),
                Pick("waifu2x-photo", denoise=3),
                Pick("waifu2x-photo", denoise=3),
            ),
            video_pick=Pick("faithful"),
            # Detail 100: RealSR alone on clean input; behind a clean-up on JPEG damage, which it would
            # otherwise draw into grids and streaks: denoise 0 on web uploads (q75-89; denoise 1 smoothed the
            # feathers away, NIQE 3.53 against 3.16), denoise 1 down to q50 (NIQE 4.45 against 5.16 for
            # denoise 2, 0.17 dB apart), denoise 2 below (0.3 dB more on q30). docs/benchmarks.md.
            detail_picks=(
                Pick(DETAIL_MODEL),
                Pick(DETAIL_MODEL, clean_up=_CLEAN_LIGHTEST),
                Pick(DETAIL_MODEL, clean_up=_CLEAN_LIGHT),
                Pick(DETAIL_MODEL, clean_up=_CLEAN_MEDIUM),
            ),
            # 70: the detailed end's share 0.79, where clean x4 photos measured NIQE 2.8 at +1.1 dB over
            # bicubic (RealSR alone: 2.5 at +0.4). At 0 the share is 0.3, the PSNR peak on every set
            # measured (+2.1 dB clean, against +1.8 for faithful alone): more faithful than either end.
            default_detail=70,
            detail_floor=0.3,
            # The camera set (blur, noise 4 levels): RealSR alone NIQE 3.68 at -0.06 dB, behind a clean-up
            # 7.28 (docs/benchmarks.md).
            light_noise_is_clean=True,
            # Text beside a photo, 7-px type at x4 (docs/benchmarks.md): CUNet read with 2.8 % of characters
            # wrong, bicubic 6.2 %, RealSR 10.9 %.
            text_pick=Pick("waifu2x-cunet"),
            # Faces at 20 (the detailed end's share 0.44 against 0.79 at the default): the default's RealSR
            # share drew creases beside the mouth and blotched skin on a small portrait; at 20 skin keeps
            # some grain and stays calm (docs/faces.png; bench/faces.py).
            face_detail=20,
        ),
        Preset(
            "anime",
            "Anime / illustration",
            "Line art, cel shading and flat colours: crisp edges without texture noise.",
            (
                Pick("waifu2x-cunet"),
                Pick("waifu2x-cunet", denoise=3),
                Pick("waifu2x-cunet", denoise=3),
                Pick("waifu2x-cunet", denoise=3),
            ),
            video_pick=Pick("realesr-animevideov3"),
        ),
        Preset(
            "text",
            "Text / document",
            "Scans, screenshots and documents: the sharpest glyph edges in our measurements, and no model "
            "that could invent a letter.",
            (
                Pick("waifu2x-cunet"),
                Pick("waifu2x-cunet", denoise=1),
                Pick("waifu2x-cunet", denoise=3),
                Pick("waifu2x-cunet", denoise=3),
            ),
            video_pick=Pick("faithful"),
        ),
        Preset(
            "faithful",
            "Faithful",
            "No invented detail: a network trained only for accuracy, never with a GAN, sharpens a smooth "
            "upscale without adding texture that was not there. For archives, documents and evidence.",
            (Pick("faithful"), Pick("faithful"), Pick("faithful"), Pick("faithful")),
            video_pick=Pick("faithful"),
        ),
    )
}
AUTO_DESCRIPTION = (
    "Looks at the image: photo, illustration or text, and how much noise or JPEG damage it carries, then "
    "runs what that preset runs for it (Detail applies where the content is a photo)."
)


class UnknownPreset(LookupError):
    """No preset with that id."""


def get_preset(preset_id: str) -> Preset:
    try:
        return PRESETS[preset_id]
    except KeyError:
        raise UnknownPreset(preset_id) from None
