"""Presets: what a person is upscaling (photo, anime, text), `faithful`, and `auto`, which looks at the image.

Each preset picks a model and its options per damage level (0 clean, 1 light, 2 medium, 3 heavy): the
choices measured best on the degradation bench (bench/degradations.py; the tables and the choice are in
docs/benchmarks.md, "Degradations and presets (issues #14, #20)"): per content type the best mean of
Y-PSNR (photos, text) or SSIM (illustrations) over x2 and x4 on the damage each level stands for, one
pick for every scale (waifu2x runs its x2 weights at any scale), and no denoise on a clean image. `auto` reads
the content and the damage from the image itself (models/imaging/analysis.py) and picks from the preset named
after that content (photo, anime, text): `faithful` is a choice of purpose, not of content, so `auto`
never makes it (tests/catalog/test_auto_preset.py). A `denoise` hint on a content preset names the
damage: 0 light, 1 medium, 2 and 3 heavy (on `auto` too, in place of the damage it reads); `faithful` runs
the same model at every level (it has no denoise weights: it neither removes nor invents anything). A
preset picks the variant too: `conservative` beside one is refused, not dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTO = "auto"


@dataclass(frozen=True)
class Pick:
    """A model and its options."""

    model: str
    denoise: int | None = None
    conservative: bool = False

    def describe(self) -> str:
        options = ["conservative"] * self.conservative
        options += [] if self.denoise is None else [f"denoise {self.denoise}"]
        return " ".join([self.model, *options])


@dataclass(frozen=True)
class Preset:
    """A named use case and what it runs at each damage level."""

    id: str
    name: str
    description: str
    picks: tuple[Pick, Pick, Pick, Pick]

    @property
    def model(self) -> str:
        """What it runs on a clean image."""
        return self.picks[0].model

    def pick(self, level: int) -> Pick:
        return self.picks[max(0, min(level, 3))]


def level_of_hint(denoise: int | None) -> int:
    """The damage level a `denoise` hint on a preset names (None: clean)."""
    return 0 if denoise is None else min(denoise + 1, 3)


PRESETS: dict[str, Preset] = {
    preset.id: preset
    for preset in (
        Preset(
            "photo",
            "Photo",
            "Photographs and natural images: the closest to the original in our measurements, with JPEG "
            "artefacts and noise removed as the damage grows.",
            # waifu2x photo at every level: within 0.1 dB of the best pick (waifu2x cunet at three levels),
            # at half cunet's price and 2-2.7x its speed (docs/benchmarks.md).
            (
                Pick("waifu2x-photo"),
                Pick("waifu2x-photo", denoise=1),
                Pick("waifu2x-photo", denoise=3),
                Pick("waifu2x-photo", denoise=3),
            ),
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
        ),
        Preset(
            "text",
            "Text / document",
            "Scans, screenshots and documents: the sharpest glyph edges in our measurements.",
            (
                Pick("waifu2x-cunet"),
                Pick("waifu2x-cunet", denoise=1),
                Pick("waifu2x-cunet", denoise=3),
                Pick("waifu2x-cunet", denoise=3),
            ),
        ),
        Preset(
            "faithful",
            "Faithful",
            "No invented detail: a network trained only for accuracy, never with a GAN, sharpens a smooth "
            "upscale without adding texture that was not there. For archives, documents and evidence.",
            (Pick("faithful"), Pick("faithful"), Pick("faithful"), Pick("faithful")),
        ),
    )
}
AUTO_DESCRIPTION = (
    "Looks at the image: photo, illustration or text, and how much noise or JPEG damage it carries, then "
    "picks the model and denoise level that measured best for that."
)


class UnknownPreset(LookupError):
    """No preset with that id."""


def get_preset(preset_id: str) -> Preset:
    try:
        return PRESETS[preset_id]
    except KeyError:
        raise UnknownPreset(preset_id) from None
