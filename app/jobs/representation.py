"""A job as the API shows it: the one shape for GET /v1/jobs/{id} and for webhook payloads; and a quote."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.jobs.models import Job, JobStatus
from app.jobs.schemas import (
    JobBranch,
    JobError,
    JobInput,
    JobOut,
    JobOutput,
    JobQuote,
    JobStage,
    JobVideo,
    QuoteOutput,
)
from app.media.video_probe import VideoInfo
from models.recipe import Recipe, Step

if TYPE_CHECKING:  # the service sends webhooks, whose payloads are made here
    from app.jobs.checks import CheckedJob


def represent_job(job: Job, base_url: str, eta_seconds: float | None = None) -> JobOut:
    """The public representation of a job; links are absolute, on `base_url`."""
    has_result = job.status == JobStatus.SUCCEEDED and job.output_key is not None
    recipe = job.recipe_to_run()
    return JobOut(
        id=job.id,
        status=job.status,
        filename=job.filename,
        model=job.model,
        scale=job.scale,
        denoise=job.denoise,
        conservative=job.conservative,
        preset=job.preset,
        reason=job.reason,
        detail=job.detail,
        recipe=recipe_out(recipe, job.scale),
        text_stage=text_stage_out(recipe, job.scale),
        input=JobInput(width=job.input_width, height=job.input_height, format=job.input_format),
        output=JobOutput(
            width=job.output_width,
            height=job.output_height,
            format=job.output_format,
            url=f"{base_url.rstrip('/')}/v1/jobs/{job.id}/result" if has_result else None,
            expires_at=job.expires_at if has_result else None,
        ),
        video=_video(job),
        credits_charged=job.credits_charged,
        estimated_seconds=job.estimated_seconds,
        eta_seconds=None if eta_seconds is None else round(eta_seconds, 1),
        credits_refunded=job.credits_refunded,
        progress=job.progress,
        error=JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _stage(step: Step, scale: int) -> JobStage:
    at, options = step.scale_at(scale), step.options
    return JobStage(model=step.model, scale=at, denoise=options.denoise, conservative=options.conservative)


def recipe_out(recipe: Recipe, scale: int) -> list[JobBranch]:
    """A recipe as jobs and quotes show it: branches of stages, each stage at its own scale."""
    return [
        JobBranch(weight=round(branch.weight, 3), stages=[_stage(step, scale) for step in branch.steps])
        for branch in recipe.branches
    ]


def text_stage_out(recipe: Recipe, scale: int) -> JobStage | None:
    """The stage a recipe runs on text, as jobs and quotes show it."""
    return None if recipe.text is None else _stage(recipe.text, scale)


def _video(job: Job) -> JobVideo | None:
    if job.input_frames is None:
        return None
    return JobVideo(
        frames=job.input_frames, fps=job.input_fps or 0.0, duration_seconds=job.input_duration or 0.0
    )


def represent_quote(checked: CheckedJob) -> JobQuote:
    """POST /v1/jobs/quote's answer: the job a submission would create, its price and the balance."""
    request, quote = checked.request, checked.quote
    info, choice = quote.info, quote.choice
    return JobQuote(
        model=choice.offer.id,
        scale=request.scale,
        denoise=choice.options.denoise,
        conservative=choice.options.conservative,
        preset="auto" if checked.auto else choice.preset,
        reason=checked.reason,
        detail=choice.detail,
        recipe=recipe_out(choice.recipe, request.scale),
        text_stage=text_stage_out(choice.recipe, request.scale),
        input=JobInput(width=info.width, height=info.height, format=info.format),
        output=QuoteOutput(
            width=info.width * request.scale, height=info.height * request.scale, format=quote.output_format
        ),
        video=_clip(info) if isinstance(info, VideoInfo) else None,
        credits=quote.price,
        estimated_seconds=round(quote.seconds, 1),
        credits_balance=checked.balance,
        covered_by_balance=checked.balance >= quote.price,
    )


def _clip(info: VideoInfo) -> JobVideo:
    """A clip's frames, rate and length, rounded as a job stores them."""
    return JobVideo(frames=info.frames, fps=round(info.fps, 3), duration_seconds=round(info.duration, 3))
