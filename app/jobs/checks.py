"""What a request would run and cost, checked against its upload: the one validation and pricing path of
a submission and of POST /v1/jobs/quote. Nothing here charges, stores or writes.

`preset=auto` is resolved here too: the image is read (content, damage) and the presets' table picks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy.orm import Session

from app.catalog.presets import (
    AUTO,
    AUTO_CLEAN_UP_DENOISE,
    CLEAN_UP_MODEL,
    PRESETS,
    Preset,
    get_preset,
    level_of_hint,
)
from app.catalog.prices import Queue, credits_for_stages
from app.catalog.service import Choice, check_auto_request
from app.credits.errors import InsufficientCredits
from app.credits.service import balance_as_read, check_balance
from app.errors import DomainError
from app.estimates.errors import JobTooSlow
from app.estimates.service import (
    Alternative,
    Speed,
    encoding_seconds_per_megapixel,
    model_speed,
    refuse_if_too_slow,
)
from app.jobs import idempotency
from app.jobs.eta import model_speed_and_ahead
from app.media.decode_budget import DecodeBudget
from app.media.image_codec import decode_image
from app.media.media import (
    MediaInfo,
    check_media_decodes,
    check_output,
    default_output_of,
    frames_of,
    read_media_header,
    still_of,
    video_frames_of,
)
from app.media.video_probe import VideoInfo
from app.runtime import Runtime
from app.webhooks.address_guard import check_webhook_url
from models.imaging.analysis import analyse
from models.imaging.text_regions import find_text
from models.recipe import Recipe
from models.spec import Options


@dataclass(frozen=True)
class JobRequest:
    """The parameters of one upscale, as the client sent them."""

    model: str | None
    scale: int
    preset: str | None = None
    denoise: int | None = None
    conservative: bool = False
    output_format: str | None = None
    output_quality: int = 92
    metadata: str = "default"
    webhook_url: str | None = None
    detail: int | None = None

    def fingerprint(self, content: str) -> str:
        """What makes two requests the same for Idempotency-Key: every parameter and the content's identity
        (the file's SHA-256, or the direct upload's id)."""
        parts = [
            self.model or "",
            self.preset or "",
            str(self.scale),
            str(self.denoise),
            str(self.conservative),
        ]
        parts += [self.output_format or ""]
        parts += [self.webhook_url or "", str(self.output_quality), self.metadata, content]
        parts += [] if self.detail is None else [f"detail={self.detail}"]
        return idempotency.fingerprint(parts)


@dataclass(frozen=True)
class Quote:
    """A request checked against its upload's header: the model, what the header says, the output format,
    and the price."""

    choice: Choice
    info: MediaInfo
    output_format: str
    price: int
    queue: Queue
    seconds: float
    # With `ahead`: the remaining seconds of the active jobs on the queue when it was checked.
    ahead: float | None = None


def recipe_price(
    runtime: Runtime, recipe: Recipe, scale: int, info: MediaInfo, text_share: float = 0.0
) -> int:
    """The recipe's price: each step's worth at its own pricing for its output pixels (a 1x clean-up at the
    input's size; the text step over the box that holds the text, `text_share` of the image), summed and
    rounded once (app/catalog/prices.py); a video's frames count as each model's pricing counts them."""
    pixels, frames = info.width * info.height * frames_of(info), video_frames_of(info)
    offer = runtime.catalog.offer
    stages = [
        (offer(step.model).terms.pricing, pixels * step.scale_at(scale) ** 2)
        for branch in recipe.branches
        for step in branch.steps
    ]
    if recipe.text is not None:
        text_pixels = math.ceil(pixels * text_share) * scale**2
        stages.append((offer(recipe.text.model).terms.pricing, text_pixels))
    return credits_for_stages(stages, frames)


def _recipe_speed(session: Session, queue: Queue, recipe: Recipe, scale: int, main: Speed) -> Speed:
    """The recipe's speed per output megapixel of the result: each step's speed on the job's queue, by its
    share of the result's pixels (a 1x clean-up has 1/scale² of them); `main` is the last step's."""
    steps = recipe.steps
    if len(steps) == 1:
        return main
    speeds = [model_speed(session, queue, step.model) for step in steps[:-1]] + [main]
    shares = [step.scale_at(scale) ** 2 / scale**2 for step in steps]
    return Speed(
        seconds_per_megapixel=sum(s.seconds_per_megapixel * k for s, k in zip(speeds, shares, strict=True)),
        measured=all(s.measured for s in speeds),
        live_workers=main.live_workers,
        seconds_per_frame=sum(s.seconds_per_frame for s in speeds),
    )


def quote_job(
    session: Session,
    runtime: Runtime,
    request: JobRequest,
    data: bytes,
    *,
    count_frames: bool = True,
    ahead: bool = False,
    level: int | None = None,
    text_share: float = 0.0,
) -> Quote:
    """Validate a request and its upload's header, price it and estimate its run time; nothing is
    decoded, charged or stored. A job that could not finish within the time limit is refused here.

    `level`: the damage a preset reads from the image (`read_damage`); a clip runs each preset's steady
    model. A video is priced per output megapixel-frame: the image price of one frame's output pixels
    times its frames, one `minimum` per clip and step. With `count_frames` False a clip whose header does
    not count its frames (Matroska, WebM, fragmented MP4) is priced from its declared length, without
    demuxing it.
    """
    settings = runtime.settings
    choose = partial(
        runtime.catalog.choose,
        request.model,
        request.preset,
        request.scale,
        request.denoise,
        request.conservative,
        detail=request.detail,
        level=level,
        text=text_share > 0,
    )
    choice = choose()  # a model's parameters, before its upload is read (a preset's: before its reading)
    if request.webhook_url:
        check_webhook_url(settings, request.webhook_url)
    info = read_media_header(settings, data, count_frames=count_frames)
    if isinstance(info, VideoInfo) and request.preset is not None:
        choice = choose(video=True)
    output_format = request.output_format or default_output_of(info)
    check_output(settings, data, info, request.scale, output_format)
    frames = frames_of(info)

    # A preset's default detail that cannot finish here (the detail model on a CPU, a large photo) falls back
    # to its faithful end alone, said in the reason; a detail the request named is refused as asked.
    can_fall_back = request.preset is not None and request.detail is None and choice.detail is not None

    def estimate(choice: Choice, explain: bool = True) -> tuple[Queue, float, float | None]:
        """Queue, seconds and the work ahead; JobTooSlow naming what would fit (when `explain`: a refusal
        that a fallback will replace needs no alternatives, each a speed read)."""
        queue = choice.offer.queue_for(settings, info.width * info.height * frames)
        speed, seconds_ahead = (
            model_speed_and_ahead(session, queue, choice.offer.id)
            if ahead
            else (
                model_speed(session, queue, choice.offer.id),
                None,
            )
        )
        seconds = refuse_if_too_slow(
            settings,
            _recipe_speed(session, queue, choice.recipe, request.scale, speed),
            choice.recipe.describe() if request.preset else choice.offer.id,
            request.scale,
            (info.width, info.height),
            lambda: (
                _faster_alternatives(session, runtime, choice, request.scale, info, output_format)
                if explain
                else []
            ),
            frames=frames,
            encoding=encoding_seconds_per_megapixel(output_format),
        )
        return queue, seconds, seconds_ahead

    try:
        queue, seconds, seconds_ahead = estimate(choice, explain=not can_fall_back)
    except JobTooSlow:
        if not can_fall_back:
            raise
        choice = choose(lighter=True)
        queue, seconds, seconds_ahead = estimate(choice)
    price = recipe_price(runtime, choice.recipe, request.scale, info, text_share)
    return Quote(choice, info, output_format, price, queue, seconds, seconds_ahead)


def _faster_alternatives(
    session: Session, runtime: Runtime, choice: Choice, scale: int, info: MediaInfo, output_format: str
) -> list[Alternative]:
    """What else could run this upload: the same model at smaller scales, then other models for the same
    content at this scale, fastest first."""
    settings, frames = runtime.settings, frames_of(info)
    pixels, encoding = info.width * info.height * frames, encoding_seconds_per_megapixel(output_format)
    found = []
    for smaller in sorted((s for s in choice.offer.spec.scales if 1 < s < scale), reverse=True):
        speed = model_speed(session, choice.offer.queue_for(settings, pixels), choice.offer.id)
        seconds = speed.seconds_for(pixels * smaller**2, encoding, frames)
        found.append(Alternative(f"{choice.offer.id} at x{smaller}", seconds))
    others = []
    for offer in runtime.catalog:
        related = offer.spec.content in (choice.offer.spec.content, "general")
        if (
            offer.id != choice.offer.id
            and related
            and scale in offer.spec.scales
            and runtime.catalog.available(offer)
        ):
            speed = model_speed(session, offer.queue_for(settings, pixels), offer.id)
            seconds = speed.seconds_for(pixels * scale**2, encoding, frames)
            others.append(Alternative(f"{offer.id} at x{scale}", seconds))
    return found + sorted(others, key=lambda a: a.seconds)


@dataclass(frozen=True)
class CheckedJob:
    """A request checked in full against its upload: what would run (`auto` resolved to the model it
    picked, and why), its price and time, and the balance it was checked against; nothing charged or
    stored."""

    request: JobRequest
    quote: Quote
    auto: bool  # `preset=auto` picked what runs
    reason: str | None  # why it runs: what was read from the image, and the preset's pick
    balance: int


def check_job(
    session: Session,
    runtime: Runtime,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    data: bytes,
    *,
    charging: bool,
) -> CheckedJob:
    """The one validation and pricing path, for a submission (`charging`) and for POST /v1/jobs/quote.

    Cheapest checks first: parameters and the header (limits, price, time); then the balance, before the
    costly full decode (bounded by `decode_budget`): a submission it cannot pay is refused (402), and a
    quote it does not cover is answered from the header alone, so an account without credits cannot make
    the service decode for free. A clip whose header does not count its frames is first priced from its
    declared length; its packets are counted (a bounded demux) only once the balance covers that price,
    or for a submission that can pay at least one frame. What the balance covers is decoded, so a quote
    refuses what a submission of the same upload would refuse for its content. `preset=auto` needs the
    pixels to pick: both refuse (402) when the balance cannot pay even the cheapest model it could pick.
    """
    reading: Reading | None = None
    if _reads_the_image(request):
        reading = _read_upload(session, runtime, decode_budget, account_id, request, data)
        request = reading.request
    level = None if reading is None else reading.level
    text = 0.0 if reading is None else reading.text_share
    quote = quote_job(
        session, runtime, request, data, count_frames=False, ahead=charging, level=level, text_share=text
    )
    balance = balance_as_read(session, account_id)  # authentication's read; the hold decides
    if isinstance(quote.info, VideoInfo) and not quote.info.frames_exact:
        one_frame = recipe_price(runtime, quote.choice.recipe, request.scale, replace(quote.info, frames=1))
        if balance >= quote.price or (charging and balance >= one_frame):
            quote = quote_job(session, runtime, request, data, ahead=charging, level=level, text_share=text)
    covered = balance >= quote.price
    if charging and not covered:
        raise InsufficientCredits()
    if reading is None and covered:  # reading decoded the upload already
        check_media_decodes(decode_budget, data, quote.info)
    reason = quote.choice.reason
    if reading is not None and reading.read:
        reason = f"{reading.read}: {reason or quote.choice.recipe.describe()}"[:200]
    return CheckedJob(request, quote, reading is not None and reading.auto, reason, balance)


def price_upload(
    session: Session,
    runtime: Runtime,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    data: bytes,
) -> CheckedJob:
    """What submitting this upload would cost and run, checked as a submission is; changes nothing."""
    return check_job(session, runtime, decode_budget, account_id, request, data, charging=False)


@dataclass(frozen=True)
class Reading:
    """What was read from the upload before it was priced: the damage level (None: the request's hint
    names it), the request it resolves to (`auto`: the preset named after the content, or the clean-up
    model at scale 1), and for people, what was read."""

    request: JobRequest
    level: int | None
    read: str
    auto: bool
    # The share of the image the box holding its text covers (0: none found, or not looked for).
    text_share: float = 0.0


def _reads_the_image(request: JobRequest) -> bool:
    """`auto` reads content and damage; a content preset reads the damage unless `denoise` names it."""
    if request.preset == AUTO:
        return True
    preset = PRESETS.get(request.preset or "")
    return preset is not None and request.denoise is None and len(set(preset.picks)) + preset.has_detail > 1


def _read_upload(
    session: Session,
    runtime: Runtime,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    data: bytes,
) -> Reading:
    """Read the image (content, damage) before anything is charged, and resolve what the request runs.

    Reading needs the pixels, so the balance is first checked against the cheapest recipe the request
    could run (a request that cannot pay costs no decode), and the one decode also validates the upload. A
    video is read from its first frame. A `denoise` hint names the damage instead of the reading (0 light,
    1 medium, 2 and 3 heavy); `auto` still reads the content.
    """
    auto = request.preset == AUTO
    if auto:
        check_auto_request(request.model, request.conservative)
    else:  # the parameters first, as for any request: a misused preset is a 422 before any read or 402
        runtime.catalog.choose(
            request.model, request.preset, request.scale, request.denoise, request.conservative,
            detail=request.detail,
        )  # fmt: skip
    presets = list(PRESETS.values()) if auto else [get_preset(request.preset or "")]
    candidates = [preset.recipe(level, request.detail) for preset in presets for level in range(4)]
    candidates += [Recipe.pipeline(preset.video_pick.steps()) for preset in presets]
    candidates += [Recipe.single(CLEAN_UP_MODEL, Options(d)) for d in set(AUTO_CLEAN_UP_DENOISE) if auto]
    # A clip whose header does not count its frames is counted (demuxed) only once one frame can be paid.
    info = read_media_header(runtime.settings, data, count_frames=False)
    if isinstance(info, VideoInfo) and not info.frames_exact:
        one = replace(info, frames=1)
        check_balance(session, account_id, min(_price(runtime, r, request.scale, one) for r in candidates))
        info = read_media_header(runtime.settings, data)
    check_balance(session, account_id, min(_price(runtime, r, request.scale, info) for r in candidates))
    check_media_decodes(decode_budget, data, info)
    if isinstance(info, VideoInfo) and not auto:  # a clip runs the preset's steady model at any damage
        return Reading(request, None, "", auto=False)
    with decode_budget.hold(info.width * info.height):
        analysis = analyse(still_of(data, info))
    preset = get_preset(analysis.content if auto else request.preset or "")
    level = preset.level_of(analysis.damage) if request.denoise is None else level_of_hint(request.denoise)
    read = analysis.reason() if auto else analysis.damage.describe()
    if request.denoise is not None:
        read = f"{analysis.content}; damage level {level} from denoise {request.denoise}"
    if auto and request.scale == 1:  # clean-up only: the one model with 1x weights, at the damage's strength
        resolved = replace(
            request, model=CLEAN_UP_MODEL, preset=None, denoise=AUTO_CLEAN_UP_DENOISE[level], detail=None
        )
        return Reading(resolved, None, read, auto=True)
    with decode_budget.hold(info.width * info.height):
        text_share = _text_share(preset, data, info)
    if not auto:
        return Reading(request, level, read, auto=False, text_share=text_share)
    resolved = replace(request, preset=analysis.content, denoise=None)
    return Reading(resolved, level, read, auto=True, text_share=text_share)


def _text_share(preset: Preset, data: bytes, info: MediaInfo) -> float:
    """Where the preset keeps text apart (photo) and the upload is an image: the share of it that the box
    holding its text covers, found on the pixels the worker will decode (models/imaging/text_regions.py)."""
    if preset.text_pick is None or isinstance(info, VideoInfo):
        return 0.0
    return find_text(decode_image(data).pixels).share


def _price(runtime: Runtime, recipe: Recipe, scale: int, info: MediaInfo) -> int:
    """A candidate's price; one whose models are not sold here costs nothing to rule out (it is refused
    when chosen)."""
    try:
        return recipe_price(runtime, recipe, scale, info)
    except DomainError:
        return 0
