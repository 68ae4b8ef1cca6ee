"""The service from a terminal: `mindrender upscale FILE...`, `account`, `models`, `download`, `cancel`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx

from app.client.api import SUFFIXES, ApiClient, ApiError, Staged
from app.client.progress import ProgressBoard
from app.config import get_settings
from app.errors import DomainError
from app.jobs.file_names import result_name
from app.media.video_probe import (
    VideoInfo,
    VideoLimits,
    default_video_format,
    read_video_header,
    video_container,
)

# A clip is named whatever its length: the service applies its own limits when it is submitted.
_NO_LIMITS = VideoLimits(max_seconds=float("inf"), max_frames=2**62, max_output_pixels=2**62)

_T = TypeVar("_T")

FINAL = {"succeeded", "failed", "canceled", "expired"}
POLL_SECONDS = 0.5
EXIT_INTERRUPTED = 130


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def duration(seconds: float) -> str:
    return f"about {max(1, round(seconds))} s" if seconds < 90 else f"about {round(seconds / 60)} min"


@dataclass
class Upscale:
    """One file's way through the service."""

    path: Path
    job: dict[str, Any] | None = None
    failed: bool = False
    skipped: bool = False
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)


def _client(ns: argparse.Namespace, key_required: bool = True) -> ApiClient:
    settings = get_settings()
    api_key = ns.api_key or settings.api_key
    if not api_key and key_required:
        raise SystemExit("mindrender: no API key: set MR_API_KEY or pass --api-key")
    return ApiClient(ns.api_url or settings.api_url, api_key or "")


def _fields(ns: argparse.Namespace) -> dict[str, str]:
    fields = {"scale": str(ns.scale)}
    if ns.model:
        fields["model"] = ns.model
    else:
        fields["preset"] = ns.preset or "auto"
    if ns.format:
        fields["output_format"] = ns.format
    if ns.denoise is not None:
        fields["denoise"] = str(ns.denoise)
    if ns.conservative:
        fields["conservative"] = "true"
    if ns.detail is not None:
        fields["detail"] = str(ns.detail)
    return fields


def _video_of(path: Path) -> VideoInfo | None:
    """The clip's header and frame count when the file is a video (by its content), else None."""
    try:
        with path.open("rb") as handle:
            container = video_container(handle.read(64))
        return read_video_header(path.read_bytes(), container, _NO_LIMITS) if container else None
    except (OSError, DomainError):
        return None


def _target(path: Path, out_dir: Path, scale: int, output_format: str | None) -> Path:
    """Where a file's result goes: `<stem>_x<scale>.<format>` (the input's format unless one is asked;
    a video comes back as WebM if it is one, else as MP4)."""
    video = _video_of(path)
    if video is not None:
        kept = default_video_format(video.format)
    else:
        suffix = path.suffix.lower().lstrip(".")
        kept = {"jpg": "jpg", "jpeg": "jpg", "png": "png", "webp": "webp"}.get(suffix, "png")
    return out_dir / f"{path.stem}_x{scale}.{SUFFIXES.get(output_format or '', kept)}"


def _retried(call: Callable[[], _T]) -> _T:
    """A request whose connection may drop: tried three times (a submission under one idempotency key, so
    never charged twice; a quote charges nothing)."""
    for attempt in range(3):
        try:
            return call()
        except httpx.TransportError:
            if attempt == 2:
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")


def _quote_line(quote: dict[str, Any], fields: dict[str, str]) -> str:
    """`30x20 -> 60x40, 1 credit, about 1 s`: the service's own price and time for a file, from its quote
    (POST /v1/jobs/quote), so what is shown before submitting is what the submission charges."""
    source, result = quote["input"], quote["output"]
    clip = f", {quote['video']['frames']} frames" if quote.get("video") else ""
    size = f"{source['width']}x{source['height']} -> {result['width']}x{result['height']}{clip}"
    picked = (
        f" ({quote['preset']}: {_recipe_text(quote)})" if "preset" in fields and quote.get("preset") else ""
    )
    short = "" if quote["covered_by_balance"] else f"; balance {quote['credits_balance']}: not enough"
    credits = plural(quote["credits"], "credit")
    return f"{size}, {credits}, {duration(quote['estimated_seconds'])}{picked}{short}"


def _recipe_text(quote: dict[str, Any]) -> str:
    """What runs, shortly: `realsr-df2k`; `waifu2x-cunet@1x > realsr-df2k`; `faithful 21% + realsr-df2k 79%`,
    with `detail 70` where it applies."""
    branches = quote.get("recipe") or [{"weight": 1, "stages": [{"model": quote["model"], "scale": 0}]}]
    scale = quote.get("scale")
    parts = [
        " > ".join(
            stage["model"] + ("@1x" if stage["scale"] == 1 and scale != 1 else "")
            for stage in branch["stages"]
        )
        for branch in branches
    ]
    # At detail 100 the faithful end weighs nothing: it runs for the detailed end's colour and shading.
    mixed = [(part, b["weight"]) for part, b in zip(parts, branches, strict=True) if b["weight"] > 0]
    text = mixed[0][0] if len(mixed) == 1 else " + ".join(f"{part} {round(w * 100)}%" for part, w in mixed)
    if len(mixed) < len(parts):
        text += f" (colour from {parts[0]})"
    return text if quote.get("detail") is None else f"{text}, detail {quote['detail']}"


def _submit(client: ApiClient, item: Upscale, staged: Staged, fields: dict[str, str]) -> None:
    """Submit once, retrying a dropped connection under the same idempotency key (never charged twice)."""

    def submit(staged: Staged) -> dict[str, Any]:
        # Naming the stored file and carrying the file are two different requests: a key each.
        key = item.idempotency_key if staged.upload_id is not None else f"{item.idempotency_key}-sent"
        return client.submit(staged, fields, key)

    with _ctrl_c_held():
        item.job = _stored_or_sent(submit, staged)


def _stored_or_sent(call: Callable[[Staged], _T], staged: Staged) -> _T:
    """`call` naming the stored file; where the service no longer has it (its slot expired while a slow
    upload ran), once more with the file sent along."""
    try:
        return _retried(partial(call, staged))
    except ApiError as exc:
        if exc.code != "upload_not_found" or staged.upload_id is None:
            raise
    return _retried(partial(call, Staged(staged.path)))


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C that comes during a submission until its answer is in: the service may have made (and
    charged) the job already, and only the answer names the job to cancel. A second Ctrl-C stops at once."""
    previous = signal.getsignal(signal.SIGINT)
    main = threading.current_thread() is threading.main_thread()
    if previous is not signal.default_int_handler or not main:
        # Ctrl-C is ignored (started in the background), handled by a caller, or not this thread's to hold.
        yield
        return
    held: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        if held:
            raise KeyboardInterrupt
        held.append(signum)
        print("\nmindrender: stopping once the submission is answered (Ctrl-C again: now)", file=sys.stderr)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:  # also where the submission failed: the user asked to stop, not to go on to the next file
            raise KeyboardInterrupt


def _finish(client: ApiClient, item: Upscale, target: Path) -> str:
    job = item.job or {}
    if job["status"] != "succeeded":
        item.failed = True
        error = job.get("error") or {}
        return f"{job['status']}: {error.get('message', 'no result')} ({error.get('code', job['status'])})"
    try:
        size = client.download(job["id"], target)
    except (httpx.HTTPError, ApiError) as exc:
        # One result this machine cannot fetch (its link's host unreachable, say) is that file's failure; the
        # other files go on, and the result stays on the service until it expires.
        item.failed = True
        again = f"mindrender download {job['id']}"
        return f"succeeded, but the result could not be downloaded: {_why(exc)}; try `{again}`"
    width, height = job["output"]["width"], job["output"]["height"]
    picked = f"; {job['reason']}" if job.get("preset") == "auto" and job.get("reason") else ""
    credits = plural(job["credits_charged"], "credit")
    frames = f", {job['video']['frames']} frames" if job.get("video") else ""
    return f"done: {target} ({width}x{height}{frames}, {size:,} bytes, {credits}){picked}"


def _origin_of(url: httpx.URL) -> str:
    """Scheme, host and port, never the whole URL: a download link carries its signature."""
    return f"{url.scheme}://{url.netloc.decode()}"


def _origin(exc: Exception) -> str | None:
    """Where a failed request went, if the error knows its request."""
    if not isinstance(exc, httpx.RequestError):
        return None
    try:
        return _origin_of(exc.request.url)
    except RuntimeError:  # an error raised without its request
        return None


def _why(exc: Exception) -> str:
    """An error in a line, with the address it failed to reach."""
    origin = _origin(exc)
    return f"{exc} ({origin})" if origin else str(exc)


def _unreachable(exc: httpx.HTTPError, service: httpx.URL) -> str:
    """Which address could not be reached: the service's, or another that its answer led to (the bucket a
    result link points at)."""
    api = _origin_of(service)
    origin = _origin(exc)
    if origin is None or origin == api:
        return f"cannot reach the service at {api}: {exc}"
    return f"cannot reach {origin}, where the service's link leads: {exc}"


def _time_left(job: dict[str, Any]) -> str:
    """`about 12 s left`: the service's own estimate for an active job ("" once it ended)."""
    eta = job.get("eta_seconds")
    return "" if eta is None else f"{duration(eta)} left"


def _watch(client: ApiClient, items: list[Upscale], board: ProgressBoard, targets: list[Path]) -> None:
    pending = {index for index, item in enumerate(items) if item.job is not None}
    while pending:
        for index in sorted(pending):
            item = items[index]
            assert item.job is not None
            item.job = client.job(item.job["id"])
            board.update(index, item.job["status"], float(item.job["progress"]), _time_left(item.job))
            if item.job["status"] in FINAL:
                pending.discard(index)
                board.note(index, _finish(client, item, targets[index]))
        if pending:
            time.sleep(POLL_SECONDS)


def _cancel_unfinished(client: ApiClient, items: list[Upscale]) -> int:
    """After Ctrl-C: cancel every job still queued or running (refunded); returns how many."""
    canceled = 0
    for item in items:
        if item.job is not None and item.job["status"] not in FINAL:
            try:
                client.cancel(item.job["id"])
                canceled += 1
            except (ApiError, httpx.HTTPError):
                print(f"mindrender: could not cancel job {item.job['id']}", file=sys.stderr)
    return canceled


def _summary(items: list[Upscale]) -> str:
    done = [item for item in items if item.job and item.job["status"] == "succeeded" and not item.failed]
    failed = sum(item.failed for item in items)
    skipped = sum(item.skipped for item in items)
    # Every job's net charge: a failed one was refunded, a succeeded one is paid even if not downloaded.
    spent = sum(
        int(item.job["credits_charged"]) - int(item.job["credits_refunded"]) for item in items if item.job
    )
    parts = (
        [f"{len(done)} done"] + [f"{failed} failed"] * bool(failed) + [f"{skipped} skipped"] * bool(skipped)
    )
    return f"{plural(len(items), 'file')}: {', '.join(parts)}; {plural(spent, 'credit')} spent"


def cmd_upscale(ns: argparse.Namespace) -> int:
    """Upscale files; exit 0 when every file came back, 1 when any failed, 130 when interrupted."""
    missing = [str(path) for path in ns.files if not path.is_file()]
    if missing:
        print(f"mindrender: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    ns.out.mkdir(parents=True, exist_ok=True)
    items = [Upscale(path) for path in ns.files]
    targets = [_target(item.path, ns.out, ns.scale, ns.format) for item in items]
    board = ProgressBoard([item.path.name for item in items], sys.stderr)
    fields = _fields(ns)
    with _client(ns) as client:
        try:
            if ns.preset is not None and not _known_preset(client, ns.preset):
                return 2
            for index, item in enumerate(items):
                if ns.skip_existing and targets[index].exists():
                    item.skipped = True
                    board.note(index, f"skipped: {targets[index]} exists")
                    continue
                try:
                    # Sent once: where the service has direct uploads, the quote and the job name the
                    # stored file. The same form through the same checks: what the quote refuses, the job
                    # would too.
                    staged = _retried(partial(client.stage, item.path))
                    quote = _stored_or_sent(partial(client.quote, fields=fields), staged)
                    board.update(index, "submitting", 0.0, _quote_line(quote, fields))
                    _submit(client, item, staged, fields)
                    board.update(index, "queued", 0.0, _time_left(item.job or {}))
                except ApiError as exc:
                    item.failed = True
                    board.note(index, f"refused: {exc}")
            _watch(client, items, board, targets)
        except KeyboardInterrupt:
            canceled = _cancel_unfinished(client, items)
            print(
                f"\nmindrender: interrupted; {plural(canceled, 'job')} canceled and refunded", file=sys.stderr
            )
            return EXIT_INTERRUPTED
        except httpx.HTTPError as exc:
            print(f"mindrender: {_unreachable(exc, client.http.base_url)}", file=sys.stderr)
            return 1
        except ApiError as exc:
            print(f"mindrender: {exc}", file=sys.stderr)
            return 1
    print(_summary(items), file=sys.stderr)
    return 1 if any(item.failed for item in items) else 0


def _known_preset(client: ApiClient, preset: str) -> bool:
    """Whether the service offers this preset (GET /v1/presets); says which it does when not."""
    offered = [offer["id"] for offer in client.presets()]
    if preset in offered:
        return True
    print(f"mindrender: no preset {preset!r}; the service offers {', '.join(offered)}", file=sys.stderr)
    return False


def _run(ns: argparse.Namespace, action: Any, key_required: bool = True) -> int:
    """One API call or a few, with every failure as a one-line message and exit code 1."""
    with _client(ns, key_required) as client:
        try:
            return int(action(client))
        except ApiError as exc:
            print(f"mindrender: {exc}", file=sys.stderr)
        except httpx.HTTPError as exc:
            print(f"mindrender: {_unreachable(exc, client.http.base_url)}", file=sys.stderr)
    return 1


def cmd_account(ns: argparse.Namespace) -> int:
    """Balance, plan and the most recent jobs."""

    def show(client: ApiClient) -> int:
        account, jobs = client.account(), client.recent_jobs(ns.limit)
        print(f"{account['email']}  plan: {account.get('plan') or 'free'}  "
              f"{plural(account['credits_balance'], 'credit')}")  # fmt: skip
        if not jobs:
            print("no jobs yet")
        for job in jobs:
            source, result = job["input"], job["output"]
            size = f"{source['width']}x{source['height']} -> {result['width']}x{result['height']}"
            spent = job["credits_charged"] - job["credits_refunded"]
            what = f"{job['id']}  {job['status']:9}  {job['model']} x{job['scale']}"
            print(f"{job['created_at'][:19]}  {what}  {size}  {plural(spent, 'credit')}")
        return 0

    return _run(ns, show)


def cmd_models_list(ns: argparse.Namespace) -> int:
    """Every model with its scales, options and price, and the presets, as the service lists them."""

    def show(client: ApiClient) -> int:
        for model in client.models():
            pricing = model["credits"]
            price = f"{pricing['minimum']}+ credits, 1 per {pricing['megapixels_per_credit']:g} MP"
            options = []
            for at in model["options"]:
                extras = [f"denoise {','.join(map(str, at['denoise']))}"] * bool(at["denoise"])
                extras += ["conservative"] * at["conservative"]
                if extras:
                    options.append(f"x{at['scale']}: {' '.join(extras)}")
            state = "" if model["available"] else "  (not installed)"
            scales = ",".join(map(str, model["scales"]))
            print(f"{model['id']:24} {model['content']:7} x{scales:11} {price}{state}")
            if options:
                print(f"{'':24} {'; '.join(dict.fromkeys(options))}")
        print("\npresets (--preset; what each runs by damage: clean, light, medium, heavy):")
        for preset in client.presets():
            picks = " | ".join(dict.fromkeys(preset["picks"])) or "reads each image, then picks as a preset"
            print(f"{preset['id']:24} {picks}")
        return 0

    return _run(ns, show, key_required=False)


def cmd_download(ns: argparse.Namespace) -> int:
    def fetch(client: ApiClient) -> int:
        job = client.job(ns.job_id)
        # Named as the service names it (photo.png at 2x: photo_x2.png), cleaned again here: no path parts.
        name = result_name(job.get("filename"), ns.job_id, job["scale"], job["output"]["format"])
        target = ns.out / name if ns.out.is_dir() else ns.out
        size = client.download(ns.job_id, target)
        print(f"{target} ({size:,} bytes)")
        return 0

    return _run(ns, fetch)


def cmd_cancel(ns: argparse.Namespace) -> int:
    def cancel(client: ApiClient) -> int:
        job = client.cancel(ns.job_id)
        refund = f", {plural(job['credits_refunded'], 'credit')} refunded" if job["credits_refunded"] else ""
        print(f"job {job['id']}: {job['status']}{refund}")
        return 0

    return _run(ns, cancel)


def _detail(text: str) -> int:
    """--detail's value: a whole number from 0 to 100."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value} is outside 0-100")
    return value


def add_client_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the API client's commands on `mindrender`; returns the common options' parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-url", help="default: MR_API_URL")
    common.add_argument("--api-key", help="default: MR_API_KEY")
    upscale = sub.add_parser("upscale", parents=[common], help="upscale images and videos through the API")
    upscale.add_argument("files", nargs="+", type=Path, metavar="FILE")
    choice = upscale.add_mutually_exclusive_group()
    choice.add_argument("--model", help="a model id (mindrender models list)")
    choice.add_argument(
        "--preset",
        help="one the service offers (mindrender models list); default: auto (the service reads each image "
        "and picks the model and denoise level)",
    )
    upscale.add_argument(
        "--scale",
        type=int,
        default=4,
        help="the model's scales (mindrender models list); 1: clean-up only (models with 1x weights)",
    )
    upscale.add_argument(
        "--denoise",
        type=int,
        help="remove noise and JPEG artefacts, 0 (light) to 3 (heavy): the model's level with --model, "
        "else the damage the preset (auto too) picks for",
    )
    upscale.add_argument(
        "--detail",
        type=_detail,
        metavar="0-100",
        help="with a preset (auto on photos too): 0 the most faithful result, 100 the most detailed; "
        "default: the preset's own (photo 70)",
    )
    upscale.add_argument(
        "--conservative",
        action="store_true",
        help="the model's conservative variant: invents less (Real-CUGAN; with --model only)",
    )
    upscale.add_argument(
        "--format",
        choices=("png", "jpeg", "webp", "mp4", "webm"),
        help="default: the input's format (images), webm for a WebM and mp4 for other videos",
    )
    upscale.add_argument("--out", type=Path, default=Path("."), help="folder for the results")
    upscale.add_argument(
        "--skip-existing", action="store_true", help="skip files whose result is already there"
    )
    upscale.set_defaults(func=cmd_upscale)
    account = sub.add_parser("account", parents=[common], help="balance and recent jobs")
    account.add_argument("--limit", type=int, default=10)
    account.set_defaults(func=cmd_account)
    download = sub.add_parser("download", parents=[common], help="download a job's result")
    download.add_argument("job_id")
    download.add_argument("--out", type=Path, default=Path("."), help="a folder, or the file to write")
    download.set_defaults(func=cmd_download)
    cancel = sub.add_parser("cancel", parents=[common], help="cancel a job (refunded) and delete its files")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_cancel)
    return common
