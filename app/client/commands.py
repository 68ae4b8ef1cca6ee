"""`mindrender upscale FILE...` and `mindrender account`: the service from a terminal."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.client.api import SUFFIXES, ApiClient, ApiError
from app.client.progress import ProgressBoard
from app.config import get_settings

FINAL = {"succeeded", "failed", "canceled", "expired"}
POLL_SECONDS = 0.5


@dataclass
class Upscale:
    """One file's way through the service."""

    path: Path
    job: dict[str, Any] | None = None
    outcome: str | None = None
    failed: bool = False
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)


def _client(ns: argparse.Namespace) -> ApiClient:
    settings = get_settings()
    api_key = ns.api_key or settings.api_key
    if not api_key:
        raise SystemExit("mindrender: no API key: set MR_API_KEY or pass --api-key")
    return ApiClient(ns.api_url or settings.api_url, api_key)


def _fields(ns: argparse.Namespace) -> dict[str, str]:
    fields = {"scale": str(ns.scale)}
    if ns.model:
        fields["model"] = ns.model
    else:
        fields["preset"] = ns.preset or "photo"
    if ns.format:
        fields["output_format"] = ns.format
    if ns.denoise is not None:
        fields["denoise"] = str(ns.denoise)
    if ns.conservative:
        fields["conservative"] = "true"
    return fields


def _submit(client: ApiClient, item: Upscale, fields: dict[str, str]) -> None:
    """Submit once, retrying a dropped connection under the same idempotency key (never charged twice)."""
    for attempt in range(3):
        try:
            item.job = client.submit(item.path, fields, item.idempotency_key)
            return
        except httpx.TransportError:
            if attempt == 2:
                raise
            time.sleep(1 + attempt)


def _finish(client: ApiClient, item: Upscale, out_dir: Path, scale: int) -> str:
    job = item.job or {}
    if job["status"] != "succeeded":
        item.failed = True
        error = job.get("error") or {}
        return f"{job['status']}: {error.get('message', 'no result')} ({error.get('code', job['status'])})"
    suffix = SUFFIXES.get(job["output"]["format"], job["output"]["format"])
    target = out_dir / f"{item.path.stem}_x{scale}.{suffix}"
    size = client.download(job["id"], target)
    width, height = job["output"]["width"], job["output"]["height"]
    return f"done: {target} ({width}x{height}, {size:,} bytes, {job['credits_charged']} credits)"


def _time_left(job: dict[str, Any]) -> str:
    """`about 12 s left`: the service's own estimate for an active job ("" once it ended)."""
    eta = job.get("eta_seconds")
    if eta is None:
        return ""
    return f"about {max(1, round(eta))} s left" if eta < 90 else f"about {round(eta / 60)} min left"


def _watch(client: ApiClient, items: list[Upscale], board: ProgressBoard, out_dir: Path, scale: int) -> None:
    pending = {index for index, item in enumerate(items) if item.job is not None}
    while pending:
        for index in sorted(pending):
            item = items[index]
            assert item.job is not None
            item.job = client.job(item.job["id"])
            board.update(index, item.job["status"], float(item.job["progress"]), _time_left(item.job))
            if item.job["status"] in FINAL:
                pending.discard(index)
                board.note(index, _finish(client, item, out_dir, scale))
        if pending:
            time.sleep(POLL_SECONDS)


def cmd_upscale(ns: argparse.Namespace) -> int:
    """Upscale files; exit 0 when every file came back, 1 when any failed."""
    missing = [str(path) for path in ns.files if not path.is_file()]
    if missing:
        print(f"mindrender: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    ns.out.mkdir(parents=True, exist_ok=True)
    items = [Upscale(path) for path in ns.files]
    board = ProgressBoard([item.path.name for item in items], sys.stderr)
    fields = _fields(ns)
    try:
        with _client(ns) as client:
            for index, item in enumerate(items):
                try:
                    _submit(client, item, fields)
                    board.update(index, "queued", 0.0, _time_left(item.job or {}))
                except ApiError as exc:
                    item.failed = True
                    board.note(index, f"refused: {exc}")
            _watch(client, items, board, ns.out, ns.scale)
    except httpx.HTTPError as exc:
        print(f"mindrender: cannot reach the service: {exc}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"mindrender: {exc}", file=sys.stderr)
        return 1
    failures = sum(item.failed for item in items)
    if failures:
        print(f"mindrender: {failures} of {len(items)} file(s) failed", file=sys.stderr)
    return 1 if failures else 0


def cmd_account(ns: argparse.Namespace) -> int:
    """Balance, plan and the most recent jobs."""
    try:
        with _client(ns) as client:
            account = client.account()
            jobs = client.recent_jobs(ns.limit)
    except (ApiError, httpx.HTTPError) as exc:
        print(f"mindrender: {exc}", file=sys.stderr)
        return 1
    print(f"{account['email']}  plan: {account.get('plan') or 'free'}  credits: {account['credits_balance']}")
    if not jobs:
        print("no jobs yet")
    for job in jobs:
        source, result = job["input"], job["output"]
        size = f"{source['width']}x{source['height']} -> {result['width']}x{result['height']}"
        print(
            f"{job['created_at'][:19]}  {job['id']}  {job['status']:9}  {job['model']} x{job['scale']}  "
            f"{size}  {job['credits_charged'] - job['credits_refunded']} credits"
        )
    return 0


def add_client_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `upscale` and `account` on the `mindrender` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-url", help="default: MR_API_URL")
    common.add_argument("--api-key", help="default: MR_API_KEY")
    upscale = sub.add_parser("upscale", parents=[common], help="upscale image files through the API")
    upscale.add_argument("files", nargs="+", type=Path, metavar="FILE")
    choice = upscale.add_mutually_exclusive_group()
    choice.add_argument("--model", help="a model id (mindrender: GET /v1/models)")
    choice.add_argument("--preset", choices=("photo", "anime", "text"), help="default: photo")
    upscale.add_argument(
        "--scale",
        type=int,
        choices=(1, 2, 3, 4, 8),
        default=4,
        help="1: clean-up only (models with 1x weights)",
    )
    upscale.add_argument(
        "--denoise",
        type=int,
        choices=(0, 1, 2, 3),
        help="remove noise and JPEG artefacts, 0 (light) to 3 (heavy), where the model has it",
    )
    upscale.add_argument(
        "--conservative",
        action="store_true",
        help="the model's conservative variant: invents less (Real-CUGAN)",
    )
    upscale.add_argument("--format", choices=("png", "jpeg", "webp"), help="default: the input's format")
    upscale.add_argument("--out", type=Path, default=Path("."), help="folder for the results")
    upscale.set_defaults(func=cmd_upscale)
    account = sub.add_parser("account", parents=[common], help="balance and recent jobs")
    account.add_argument("--limit", type=int, default=10)
    account.set_defaults(func=cmd_account)
