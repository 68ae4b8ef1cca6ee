"""Response bodies of GET /v1/models and GET /v1/presets."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PricingOut(BaseModel):
    minimum: int = Field(description="Credits charged at least, per job (per clip for a video).")
    megapixels_per_credit: float = Field(
        description="One credit per started this many output megapixels; a video's are summed over its "
        "frames (output megapixel-frames)."
    )
    min_output_pixels_per_frame: int = Field(
        description="A video's frame counts at least this many output pixels (its decode, encode and "
        "model call cost the worker time whatever its size); images are priced by their pixels alone."
    )


class VideoOut(BaseModel):
    """What a video job may be and what it adds; the same for every model."""

    max_seconds: float = Field(description="Longest clip accepted.")
    max_frames: int = Field(description="Most frames a clip may have.")
    max_output_pixels_per_frame: int = Field(description="Most pixels of one upscaled frame.")
    input_formats: list[str] = Field(description="Containers accepted, recognised by content.")
    codecs: list[str] = Field(description="Video codecs accepted (FFmpeg names).")
    output_formats: list[str] = Field(description="mp4 (H.264) and webm (VP9); audio and subtitles copied.")
    encode_seconds_per_output_megapixel: dict[str, float] = Field(
        description="Per output format: what encoding adds to `seconds_per_output_megapixel` per frame."
    )
    temporal_flicker: float | None = Field(
        description="Frame-to-frame change this model adds on a static scene, as a multiple of the input's "
        "own (1.0: none added); null where not measured."
    )
    stable: bool | None = Field(
        description="Whether the model is steady on video (flicker at most 1.1); null where not measured."
    )


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
    max_input_pixels: int = Field(description="Most pixels of an input image, or of one video frame.")
    max_output_pixels: int = Field(description="Most pixels of an upscaled image.")
    video: VideoOut = Field(description="Video limits, formats and this model's steadiness on video.")
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
        description="What it runs by damage level (clean, light, medium, heavy; it reads the level from the "
        "image, or a `denoise` hint names one) at detail 0, the most faithful end."
    )
    detail_picks: list[str] = Field(
        description="At detail 100, the most detailed end, by damage level; empty where the preset has no "
        "detail control (between the ends the two results are mixed)."
    )
    default_detail: int | None = Field(
        description="The `detail` it runs at when the request names none; null: no detail control."
    )
