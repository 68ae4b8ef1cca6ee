"""Response bodies of GET /v1/models and GET /v1/presets."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PricingOut(BaseModel):
    minimum: int = Field(description="Credits charged at least, per job.")
    megapixels_per_credit: float = Field(description="One credit per started this many output megapixels.")


class ScaleOptionsOut(BaseModel):
    scale: int
    native_scale: int = Field(description="The native pass this scale runs (then resampled if different).")
    plain: bool = Field(description="Runs without `denoise` (and without `conservative`).")
    denoise: list[int] = Field(description="The `denoise` levels this scale accepts.")
    conservative: bool = Field(description="Whether `conservative=true` is accepted at this scale.")


class ModelOut(BaseModel):
    id: str
    name: str
    description: str
    content: str
    native_scale: int = Field(description="The largest native scale.")
    native_scales: list[int]
    scales: list[int]
    options: list[ScaleOptionsOut] = Field(
        description="Per accepted scale: what `denoise`/`conservative` do."
    )
    credits: PricingOut
    max_input_pixels: int
    max_output_pixels: int
    available: bool = Field(description="False while the model's weights are not installed (503 on submit).")
    seconds_per_output_megapixel: float = Field(
        description="Expected run time on this service per output megapixel (plus about a second per job)."
    )


class PresetOut(BaseModel):
    id: str = Field(description="Pass as `preset` to POST /v1/jobs instead of `model`.")
    name: str
    description: str
    model: str | None = Field(description="The model it runs on a clean image (null for `auto`: it depends).")
    picks: list[str] = Field(
        description="What it runs by damage level: clean, light, medium, heavy (a `denoise` hint names one)."
    )
