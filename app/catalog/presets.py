"""Content presets: what a person is upscaling (photo, anime, text) and the model that measures best for it.

The mapping comes from `bench/quality.py` (PSNR/SSIM on held-out photos, an illustration and rendered text);
docs/benchmarks.md records the figures behind each choice.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """A named use case and the model that serves it."""

    id: str
    name: str
    description: str
    model: str


PRESETS: dict[str, Preset] = {
    preset.id: preset
    for preset in (
        Preset(
            "photo",
            "Photo",
            "Photographs and natural images: restores texture and removes JPEG artefacts.",
            "realesrgan-x4plus",
        ),
        Preset(
            "anime",
            "Anime / illustration",
            "Line art, cel shading and flat colours: crisp edges without texture noise.",
            "realesrgan-x4plus-anime",
        ),
        Preset(
            "text",
            "Text / document",
            "Scans, screenshots and documents: the sharpest glyph edges in our measurements.",
            "realesr-animevideov3",
        ),
    )
}


class UnknownPreset(LookupError):
    """No preset with that id."""


def get_preset(preset_id: str) -> Preset:
    try:
        return PRESETS[preset_id]
    except KeyError:
        raise UnknownPreset(preset_id) from None
