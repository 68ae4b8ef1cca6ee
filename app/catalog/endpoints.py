"""GET /v1/models and /v1/presets: models, scales, prices, pixel limits, and the content presets."""

from __future__ import annotations

from fastapi import APIRouter

from app.catalog.representation import represent_models, represent_presets
from app.catalog.schemas import ModelOut, PresetOut
from app.catalog.service import Offer
from app.estimates.service import model_speed
from app.runtime import DbSession, RuntimeDep

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", response_model=list[ModelOut], summary="Available models, scales, prices and limits")
def list_models(runtime: RuntimeDep, session: DbSession) -> list[ModelOut]:
    def seconds_per_megapixel(offer: Offer) -> float:
        return model_speed(session, offer.terms.queue, offer.id).seconds_per_megapixel

    return represent_models(runtime.settings, runtime.catalog, seconds_per_megapixel)


@router.get(
    "/presets",
    response_model=list[PresetOut],
    summary="Presets: auto (read from the image), photo, anime, text, faithful",
)
def list_presets() -> list[PresetOut]:
    return represent_presets()
