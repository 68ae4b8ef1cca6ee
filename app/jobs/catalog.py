"""GET /v1/models and /v1/presets: models, scales, prices, pixel limits, and the content presets."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.config import get_settings
from models.presets import PRESETS
from models.registry import all_models

router = APIRouter(prefix="/v1", tags=["models"])


class PricingOut(BaseModel):
    minimum: int = Field(description="Credits charged at least, per job.")
    megapixels_per_credit: float = Field(description="One credit per started this many output megapixels.")


class ModelOut(BaseModel):
    id: str
    name: str
    description: str
    content: str
    native_scale: int
    scales: list[int]
    credits: PricingOut
    max_input_pixels: int
    max_output_pixels: int
    available: bool = Field(description="False while the model's weights are not installed (503 on submit).")


@router.get("/models", response_model=list[ModelOut], summary="Available models, scales, prices and limits")
def list_models() -> list[ModelOut]:
    settings = get_settings()
    return [
        ModelOut(
            id=spec.id,
            name=spec.name,
            description=spec.description,
            content=spec.content,
            native_scale=spec.native_scale,
            scales=list(spec.scales),
            credits=PricingOut(
                minimum=spec.pricing.minimum, megapixels_per_credit=spec.pricing.megapixels_per_credit
            ),
            max_input_pixels=settings.max_input_pixels,
            max_output_pixels=settings.max_output_pixels,
            available=spec.installed(settings.resolved_models_dir),
        )
        for spec in all_models()
    ]


class PresetOut(BaseModel):
    id: str = Field(description="Pass as `preset` to POST /v1/jobs instead of `model`.")
    name: str
    description: str
    model: str = Field(description="The model this preset runs.")


@router.get("/presets", response_model=list[PresetOut], summary="Content presets: photo, anime, text")
def list_presets() -> list[PresetOut]:
    return [
        PresetOut(id=p.id, name=p.name, description=p.description, model=p.model) for p in PRESETS.values()
    ]
