"""The job as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

OutputFormat = Literal["png", "jpeg", "webp", "mp4", "webm"]


class JobInput(BaseModel):
    width: int = Field(description="As displayed: EXIF orientation or a video's rotation applied.")
    height: int
    format: str = Field(description="png, jpeg, webp, gif, bmp, tiff; for a video mp4, mov, webm or mkv.")


class JobVideo(BaseModel):
    frames: int = Field(description="Frames of the clip; the result has the same frames.")
    fps: float = Field(description="Average frame rate; the result keeps every frame's timestamp.")
    duration_seconds: float = Field(description="Length of the video stream; the result's is the same.")


class JobOutput(BaseModel):
    width: int
    height: int
    format: str
    url: str | None = Field(description="Where to download the result while it exists.")
    expires_at: datetime | None = Field(description="When the result is deleted.")


class JobError(BaseModel):
    code: str
    message: str


class JobStage(BaseModel):
    model: str
    scale: int = Field(description="The stage's own scale: 1 for a clean-up at the input's size.")
    denoise: int | None
    conservative: bool


class JobBranch(BaseModel):
    weight: float = Field(
        description="The branch's share of the result's pixels (1: it alone). In a blend of a preset's two "
        "ends the later branch adds only detail finer than the input's pixels, its colour and shading "
        "coming from the first, which may then weigh 0 (`detail` 100)."
    )
    stages: list[JobStage] = Field(description="Run one after the other.")


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed", "canceled", "expired"]
    filename: str | None = Field(
        description="The uploaded file's name (its last path part, without control or direction "
        "characters, at most 200 characters); the result downloads as `<name>_x<scale>.<format>`. Null "
        "when none was sent."
    )
    model: str
    scale: int
    denoise: int | None = Field(description="The denoise level the model ran with (null: none).")
    conservative: bool = Field(description="Whether the model's conservative variant ran.")
    preset: str | None = Field(description="The preset the request named (`auto`: read from the image).")
    reason: str | None = Field(
        description="Why the preset picked this model, e.g. `JPEG quality ~35; photo`."
    )
    detail: int | None = Field(
        description="0 (the most faithful result) to 100 (the most detailed), as applied; null where no "
        "detail control applies (a named model, text, illustrations, faithful, video)."
    )
    text_stage: JobStage | None = Field(
        description="Run over the part of the image that holds text, mixed in by a soft mask (the photo "
        "preset: a model that keeps small letters readable); null where no text was found or none applies."
    )
    recipe: list[JobBranch] = Field(
        description="What runs: one branch of stages (a model; or a clean-up at 1x, then the upscaler), or "
        "two whose results are mixed by weight (a `detail` between a preset's two ends). `model` is the "
        "last stage of the last branch."
    )
    input: JobInput
    output: JobOutput
    video: JobVideo | None = Field(
        description="For a video job: frames, frame rate and length, which the result keeps (its audio and "
        "subtitles are copied unchanged); null for an image. Progress counts frames."
    )
    credits_charged: int
    credits_refunded: int
    estimated_seconds: float | None = Field(
        description="The run time this service expected when accepting it."
    )
    eta_seconds: float | None = Field(
        description="While queued or running: seconds until it should end (the queue ahead counts)."
    )
    progress: float = Field(ge=0, le=1)
    error: JobError | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class QuoteOutput(BaseModel):
    width: int
    height: int
    format: str = Field(description="The format the result would have: png, jpeg, webp, mp4 or webm.")


class JobQuote(BaseModel):
    """What POST /v1/jobs would do with this upload now; nothing is charged or stored."""

    model: str = Field(description="The model that would run (for `preset=auto`, the one it picked).")
    scale: int
    denoise: int | None
    conservative: bool
    preset: str | None
    reason: str | None = Field(description="Why the preset picked this model (`auto`: what it read).")
    detail: int | None = Field(description="The detail that would apply; null where none does.")
    recipe: list[JobBranch] = Field(description="What would run, as a job's `recipe` says.")
    text_stage: JobStage | None = Field(description="What would run on the text found, as a job says.")
    input: JobInput
    output: QuoteOutput
    video: JobVideo | None = Field(
        description="For a video: frames, frame rate and length; null for an image."
    )
    credits: int = Field(description="The price a submission would reserve.")
    estimated_seconds: float = Field(description="The run time this service expects, once a worker has it.")
    credits_balance: int
    covered_by_balance: bool = Field(
        description="Whether the balance pays the price now (else 402 on submit)."
    )


class JobPage(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


class UploadIn(BaseModel):
    filename: str | None = Field(
        default=None,
        max_length=1000,
        description="The file's name, kept for the job (the bucket does not tell it), e.g. `photo.png`.",
    )


class UploadOut(BaseModel):
    id: str = Field(description="Pass as `upload_id` to POST /v1/jobs once the file is uploaded.")
    url: str = Field(description="POST the file here as multipart/form-data: the fields below, then `file`.")
    fields: dict[str, str]
    max_bytes: int
    expires_at: datetime
