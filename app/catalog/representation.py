"""The catalog as the API shows it: each model with its scales, options, price, limits and speed; presets."""

from __future__ import annotations

from collections.abc import Callable

from app.catalog.presets import AUTO, AUTO_DESCRIPTION, PRESETS
from app.catalog.prices import MIN_FRAME_OUTPUT_PIXELS
from app.catalog.schemas import ModelOut, PresetOut, PricingOut, ScaleOptionsOut
from app.catalog.service import Catalog, Offer
from app.catalog.video import video_terms
from app.config import Settings
from models.spec import ModelSpec


def represent_models(
    settings: Settings, catalog: Catalog, seconds_per_megapixel: Callable[[Offer], float]
) -> list[ModelOut]:
    """Every offer of the catalog; `seconds_per_megapixel` is this service's measured speed of one."""
    return [
        ModelOut(
            id=offer.spec.id,
            name=offer.spec.name,
            description=offer.spec.description,
            content=offer.spec.content,
            native_scale=offer.spec.native_scale,
            native_scales=list(offer.spec.native_scales),
            scales=list(offer.spec.scales),
            options=[_options(offer.spec, scale) for scale in offer.spec.scales],
            credits=PricingOut(
                minimum=offer.terms.pricing.minimum,
                megapixels_per_credit=offer.terms.pricing.megapixels_per_credit,
                min_output_pixels_per_frame=MIN_FRAME_OUTPUT_PIXELS,
            ),
            max_input_pixels=settings.max_input_pixels,
            max_output_pixels=settings.max_output_pixels,
            video=video_terms(settings, offer.id),
            available=catalog.available(offer),
            seconds_per_output_megapixel=round(seconds_per_megapixel(offer), 3),
        )
        for offer in catalog
    ]


def _options(spec: ModelSpec, scale: int) -> ScaleOptionsOut:
    at = spec.options_at(scale)
    return ScaleOptionsOut(
        scale=scale,
        native_scale=at.native_scale,
        plain=at.plain,
        denoise=list(at.denoise),
        conservative=at.conservative,
    )


def represent_presets() -> list[PresetOut]:
    """`auto`, then every content preset with what it picks by damage and detail."""
    auto = PresetOut(
        id=AUTO,
        name="Automatic",
        description=AUTO_DESCRIPTION,
        model=None,
        picks=[],
        detail_picks=[],
        default_detail=PRESETS["photo"].default_detail,
    )
    return [auto] + [
        PresetOut(
            id=p.id,
            name=p.name,
            description=p.description,
            model=p.model,
            picks=[pick.describe() for pick in p.picks],
            detail_picks=[pick.describe() for pick in p.detail_picks or ()],
            default_detail=p.default_detail,
        )
        for p in PRESETS.values()
    ]
