"""What a request would run and cost, checked against its upload: the one validation and pricing path of
a submission and of POST /v1/jobs/quote. Nothing here charges, stores or writes.

`preset=auto` is resolved here too: the image is read (content, damage) and the presets' table picks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from app.catalog.presets import AUTO, PRESETS, Pick, get_preset, level_of_hint
from app.catalog.prices import Queue
from app.catalog.service import Choice, check_auto_request
from app.credits.errors import InsufficientCredits
from app.credits.service import balance_as_read, check_balance
from app.estimates.service import (
    Alternative,
    encoding_seconds_per_megapixel,
    model_speed,
    model_speed_and_ahead,
    refuse_if_too_slow,
)
from app.jobs import idempotency
from app.media.decode_budget import DecodeBudget
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

# What `auto` runs at scale 1 (clean-up without resizing): the one model with 1x weights.
AUTO_CLEAN_UP = "waifu2x-cunet"
# Its denoise level per damage level, from the scale-1 table of docs/benchmarks.md: denoise 0 on clean and
# lightly damaged images, 3 from medium damage on (denoise 1 lost 1.3 dB to it on medium photos).
_CLEAN_UP_DENOISE = (0, 0, 3, 3)


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


def quote_job(
    session: Session,
    runtime: Runtime,
    request: JobRequest,
    data: bytes,
    *,
    count_frames: bool = True,
    ahead: bool = False,
) -> Quote:
    """Validate a request and its upload's header, price it and estimate its run time; nothing is
    decoded, charged or stored. A job that could not finish within the time limit is refused here.

    A video is priced per output megapixel-frame: the image price of one frame's output pixels times
    its frames, one `minimum` per clip. With `count_frames` False a clip whose header does not count its
    frames (Matroska, WebM, fragmented MP4) is priced from its declared length, without demuxing it.
    """
    settings = runtime.settings
    choice = runtime.catalog.choose(
        request.model, request.preset, request.scale, request.denoise, request.conservative
    )
    if request.webhook_url:
        check_webhook_url(settings, request.webhook_url)
    info = read_media_header(settings, data, count_frames=count_frames)
    output_format = request.output_format or default_output_of(info)
    check_output(settings, data, info, request.scale, output_format)
    frames = frames_of(info)
    output_pixels = info.width * info.height * request.scale**2 * frames
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
        speed,
        choice.offer.id,
        request.scale,
        (info.width, info.height),
        lambda: _faster_alternatives(session, runtime, choice, request.scale, info, output_format),
        frames=frames,
        encoding=encoding_seconds_per_megapixel(output_format),
    )
    price = choice.offer.terms.pricing.credits_for(output_pixels, video_frames_of(info))
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
    auto_reason: str | None
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
    auto: AutoPick | None = None
    if request.preset == AUTO:
        auto = _resolve_auto(session, runtime, decode_budget, account_id, request, data)
        request = auto.request
    quote = quote_job(session, runtime, request, data, count_frames=False, ahead=charging)
    balance = balance_as_read(session, account_id)  # authentication's read; the hold decides
    if isinstance(quote.info, VideoInfo) and not quote.info.frames_exact:
        one_frame = quote.choice.offer.terms.pricing.credits_for(quote.info.pixels * request.scale**2, 1)
        if balance >= quote.price or (charging and balance >= one_frame):
            quote = quote_job(session, runtime, request, data, ahead=charging)
    covered = balance >= quote.price
    if charging and not covered:
        raise InsufficientCredits()
    if auto is None and covered:  # `auto` decoded the upload already, to read it
        check_media_decodes(decode_budget, data, quote.info)
    return CheckedJob(request, quote, auto.reason if auto else None, balance)


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
class AutoPick:
    """`preset=auto` resolved: the request with the model and options it picked, and why."""

    request: JobRequest
    reason: str


def _resolve_auto(
    session: Session,
    runtime: Runtime,
    decode_budget: DecodeBudget,
    account_id: str,
    request: JobRequest,
    data: bytes,
) -> AutoPick:
    """Read the image (content, damage) and pick from the presets' table, before anything is charged.

    Reading needs the pixels, so the balance is first checked against the cheapest model `auto` could
    pick (a request that cannot pay costs no decode), and the one decode also validates the upload. A
    video is read from its first frame. A `denoise` hint names the damage instead of the reading, as on
    a content preset (0 light, 1 medium, 2 and 3 heavy); the content is still read.
    """
    check_auto_request(request.model, request.conservative)
    candidates = {pick.model for preset in PRESETS.values() for pick in preset.picks} | {AUTO_CLEAN_UP}
    pricings = [runtime.catalog.offer(model).terms.pricing for model in candidates]
    # A clip whose header does not count its frames is counted (demuxed) only once one frame can be paid.
    info = read_media_header(runtime.settings, data, count_frames=False)
    if isinstance(info, VideoInfo) and not info.frames_exact:
        one_frame = info.width * info.height * request.scale**2
        check_balance(session, account_id, min(pricing.credits_for(one_frame, 1) for pricing in pricings))
        info = read_media_header(runtime.settings, data)
    output_pixels = info.width * info.height * request.scale**2 * frames_of(info)
    frames = video_frames_of(info)
    check_balance(
        session, account_id, min(pricing.credits_for(output_pixels, frames) for pricing in pricings)
    )
    check_media_decodes(decode_budget, data, info)
    with decode_budget.hold(info.width * info.height):
        analysis = analyse(still_of(data, info))
    level = analysis.damage.level if request.denoise is None else level_of_hint(request.denoise)
    if request.scale == 1:  # clean-up only: the one model with 1x weights, at the damage's strength
        pick = Pick(AUTO_CLEAN_UP, denoise=_CLEAN_UP_DENOISE[level])
    else:
        pick = get_preset(analysis.content).pick(level)
    resolved = replace(
        request, model=pick.model, preset=None, denoise=pick.denoise, conservative=pick.conservative
    )
    read = analysis.reason()
    if request.denoise is not None:
        read = f"{analysis.content}; damage level {level} from denoise {request.denoise}"
    return AutoPick(resolved, f"{read}: {pick.describe()}"[:200])
