"""Estimates: a model's speed on this service, a job's run time and wait, and refusing what cannot finish.

A job's run time is a fixed overhead, plus seconds per frame (decoding and encoding a video's frame, one
call through the engine), plus seconds per output megapixel (the network's work, and encoding). Workers
report a heartbeat (queues, device) and, after each job, its run time: a sample. A worker's speed for a
model is fitted from its recent samples, term by term, as medians (see `fit_speed`), so that no one job,
and no one account, can move it far. A queue's speed for a model is its fastest live worker's own figure,
or the default for that worker's device until it has measured one; with no live worker, the last figure
any worker measured, or the CPU default.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Executable,
    Float,
    Select,
    String,
    bindparam,
    cast,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.estimates.defaults import default_seconds_per_frame, default_seconds_per_megapixel
from app.estimates.errors import JobTooSlow
from app.estimates.models import ModelSpeed, SpeedSample, WorkerSeen

# A worker is live while its heartbeat (every 30 s) is this recent.
LIVE_FOR = timedelta(minutes=2)
# Reading the input, storing the result and recording the job around the frames: 0.02-0.03 s for a 2-frame
# 16x16 clip through `run_job` on the 2-core VM with nothing else running (bench/video.py estimates).
OVERHEAD_SECONDS = 0.03
# Estimates err: a job is refused when its estimate passes this share of the soft time limit.
LIMIT_SHARE = 0.8
# The samples a worker's speed is fitted from: its latest jobs of the model, at most `PER_ACCOUNT` of them
# from any one account, so one account's clips cannot fill the window and outvote everyone else's.
WINDOW = 15
PER_ACCOUNT = 3
# Each term is a median of at least this many votes: the device's default fills the missing ones, so a
# single job never moves a figure by itself; two that agree do. The default always keeps one vote, which
# breaks a tie between two accounts' jobs in favour of the default's side.
MIN_VOTES = 3
# Jobs smaller than this are mostly overhead: they say little about the network's speed.
MEASURED_ABOVE_PIXELS = 100_000
# Encoding a video result, seconds per output megapixel-frame on the 2-core VM (bench/video.py): x264 at
# its medium preset about 30 MP/s, libvpx VP9 (cpu-used 4, row-mt) about 5 MP/s. Added to a video's
# estimate; a worker's measured speeds leave it out, so they stay the model's own.
VIDEO_ENCODE_SECONDS_PER_MEGAPIXEL = {"mp4": 0.03, "webm": 0.2}


def encoding_seconds_per_megapixel(output_format: str) -> float:
    """What writing the result adds per output megapixel: something for a video, nothing for an image."""
    return VIDEO_ENCODE_SECONDS_PER_MEGAPIXEL.get(output_format, 0.0)


@dataclass(frozen=True)
class Speed:
    """Seconds per output megapixel for a model on a queue, and how many live workers serve the queue."""

    seconds_per_megapixel: float
    measured: bool
    live_workers: int
    seconds_per_frame: float = 0.0

    def seconds_for(self, output_pixels: int, encoding: float = 0.0, frames: int = 1) -> float:
        """A job's run time for its output pixels (every frame's, for a video) and frames, plus `encoding`
        seconds per output megapixel for writing a video."""
        return (
            OVERHEAD_SECONDS
            + frames * self.seconds_per_frame
            + output_pixels / 1e6 * (self.seconds_per_megapixel + encoding)
        )


def default_speed(model: str, device: str, live_workers: int = 0) -> Speed:
    """A model's speed on a device before any worker measured it (app/estimates/defaults.py)."""
    return Speed(
        default_seconds_per_megapixel(model, device),
        False,
        live_workers,
        default_seconds_per_frame(model, device),
    )


def _upsert(session: Session, row: WorkerSeen | ModelSpeed) -> None:
    """Insert a row, or update it where its key exists (a savepoint absorbs a concurrent insert)."""
    try:
        with session.begin_nested():
            session.merge(row)
    except IntegrityError:
        session.merge(row)


def heartbeat(session: Session, name: str, queues: list[str], device: str) -> None:
    """A job worker is alive and serves these queues on this device."""
    _upsert(session, WorkerSeen(name=name, queues=",".join(queues), device=device, seen_at=utcnow()))


@dataclass(frozen=True)
class Sample:
    """One job's run time on a worker (a video's encoding left out), with its frames and output pixels."""

    seconds: float
    frames: int
    output_pixels: int

    @property
    def megapixels(self) -> float:
        return self.output_pixels / 1e6


def _median_votes(votes: list[float], default: float) -> float:
    """The median of `votes` and enough copies of `default` to make `MIN_VOTES` (at least one); none is
    below zero."""
    padded = [max(vote, 0.0) for vote in votes] + [default] * max(MIN_VOTES - len(votes), 1)
    return statistics.median(padded)


def fit_speed(samples: Sequence[Sample], default: Speed) -> tuple[float, float]:
    """Seconds per output megapixel and per frame that explain the samples, robustly.

    Each sample votes for the term that dominates its time by the defaults' measure: an image or a clip of
    large frames for the per-megapixel term, a clip of many tiny frames for the per-frame one. Its vote is
    its time less the overhead and the other term's share, per unit of its own term, and each term is the
    median of its votes (two rounds, each term using the other's latest figure). A median moves by at most
    one neighbouring vote per job, however far off that job was.
    """
    per_mp, per_frame = default.seconds_per_megapixel, default.seconds_per_frame
    by_pixels = [s for s in samples if s.megapixels * per_mp >= s.frames * per_frame]
    by_frames = [s for s in samples if s not in by_pixels]
    for _ in range(2):
        per_mp = _median_votes(
            [(s.seconds - OVERHEAD_SECONDS - s.frames * per_frame) / s.megapixels for s in by_pixels],
            default.seconds_per_megapixel,
        )
        per_frame = _median_votes(
            [(s.seconds - OVERHEAD_SECONDS - s.megapixels * per_mp) / s.frames for s in by_frames],
            default.seconds_per_frame,
        )
    return per_mp, per_frame


def record_job_speed(
    session: Session,
    worker: str,
    device: str,
    model: str,
    seconds: float,
    output_pixels: int,
    frames: int = 1,
    account_id: str | None = None,
) -> None:
    """Keep one finished job's run time as a sample and refit the worker's speed for the model."""
    if output_pixels < MEASURED_ABOVE_PIXELS:
        return
    session.add(
        SpeedSample(
            worker=worker,
            model=model,
            account_id=account_id,
            frames=frames,
            output_pixels=output_pixels,
            seconds=seconds,
        )
    )
    session.flush()
    recent = session.execute(
        select(SpeedSample)
        .where(SpeedSample.worker == worker, SpeedSample.model == model)
        .order_by(SpeedSample.id.desc())
    ).scalars()
    window: list[SpeedSample] = []
    per_account: dict[str | None, int] = {}
    for row in recent:
        if per_account.get(row.account_id, 0) < PER_ACCOUNT and len(window) < WINDOW:
            per_account[row.account_id] = per_account.get(row.account_id, 0) + 1
            window.append(row)
        else:
            # Never in a window again (its account, or the window, has newer ones): a worker keeps at most
            # `WINDOW` rows a model, and one account's flood cannot push the others' samples out.
            session.delete(row)
    samples = [Sample(row.seconds, row.frames, row.output_pixels) for row in window]
    per_mp, per_frame = fit_speed(samples, default_speed(model, device))
    _upsert(
        session,
        ModelSpeed(
            worker=worker,
            model=model,
            device=device,
            seconds_per_megapixel=per_mp,
            seconds_per_frame=per_frame,
            samples=len(samples),
            updated_at=utcnow(),
        ),
    )


def speeds_statement(extra: Select[Any] | None = None) -> Executable:
    """The live workers (since `:since`) and a model's (`:model`) measured speeds, in one statement; with
    `extra`, one more row of the caller's with no name, whose value `model_speed` returns beside the speed
    (the jobs' ETA adds the work ahead on a queue that way, without a statement of its own).

    A row is a live worker (its queues) or a measured speed (no queues): two statements were 2 of a
    submission's 10 round trips (bench/api_load.py). Build it once: making and keying the statement anew
    cost about as much of the API's CPU as running it.
    """
    none = cast(null(), Float)
    live = select(
        WorkerSeen.name, WorkerSeen.device, WorkerSeen.queues, none.label("per_mp"), none.label("per_frame")
    ).where(WorkerSeen.seen_at > bindparam("since"))
    speeds = select(
        ModelSpeed.worker,
        ModelSpeed.device,
        cast(null(), String),
        ModelSpeed.seconds_per_megapixel,
        ModelSpeed.seconds_per_frame,
    ).where(ModelSpeed.model == bindparam("model"))
    return union_all(live, speeds) if extra is None else union_all(live, speeds, extra)


_SPEEDS = speeds_statement()


def model_speed(session: Session, queue: str, model: str) -> Speed:
    """This service's speed for a model on a queue (see the module's docstring for the order of sources)."""
    return model_speed_and_extra(session, queue, model, _SPEEDS)[0]


def model_speed_and_extra(
    session: Session, queue: str, model: str, statement: Executable, params: dict[str, object] | None = None
) -> tuple[Speed, float]:
    """`model_speed`, and the value of the extra row of `statement` (made by `speeds_statement`) with its
    `params`, in one round trip."""
    workers: list[tuple[str, str]] = []
    measured: dict[str, Speed] = {}
    extra = 0.0
    rows = session.execute(statement, {"since": utcnow() - LIVE_FOR, "model": model, **(params or {})})
    for name, device, queues, per_mp, per_frame in rows:
        if name is None:
            extra = float(per_mp or 0.0)
        elif queues is not None:
            if queue in queues.split(","):
                workers.append((name, device))
        else:
            measured[name] = Speed(per_mp, True, 0, per_frame)

    # The fastest per megapixel: what most of a job's time is, but for clips of tiny frames.
    def fastest(speeds: list[Speed]) -> Speed:
        return min(speeds, key=lambda speed: (speed.seconds_per_megapixel, speed.seconds_per_frame))

    if workers:
        best = fastest([measured.get(name) or default_speed(model, device) for name, device in workers])
        return replace(best, live_workers=len(workers)), extra
    if measured:
        return fastest(list(measured.values())), extra
    return default_speed(model, "cpu"), extra


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class Alternative:
    """Something that would fit the time limit: another model, a smaller scale."""

    label: str
    seconds: float


def refuse_if_too_slow(
    settings: Settings,
    speed: Speed,
    model: str,
    scale: int,
    size: tuple[int, int],
    alternatives: Callable[[], list[Alternative]],
    frames: int = 1,
    encoding: float = 0.0,
) -> float:
    """The job's estimated run time, or JobTooSlow (before anything is charged) naming what would fit.

    `frames` and `encoding` are a video's: its frame count and the encoder's seconds per output megapixel.
    """
    width, height = size
    output_pixels = width * height * scale * scale * frames
    seconds = speed.seconds_for(output_pixels, encoding, frames)
    budget = settings.job_soft_time_limit * LIMIT_SHARE
    if seconds <= budget:
        return seconds
    fits = [f"{a.label} (about {_minutes(a.seconds)})" for a in alternatives() if a.seconds <= budget][:3]
    share = max(budget - OVERHEAD_SECONDS, 0.0) / (seconds - OVERHEAD_SECONDS)
    what = f"a {width}x{height} image" if frames == 1 else f"a {width}x{height} clip of {frames:,} frames"
    if frames > 1 and int(frames * share) >= 1:
        fits.append(f"a clip of up to {int(frames * share):,} frames at x{scale}")
    elif frames == 1 and math.sqrt(share) >= 0.05:
        shrink = math.sqrt(share)
        fits.append(f"an image up to {int(width * shrink)}x{int(height * shrink)} at x{scale}")
    limit = _minutes(settings.job_soft_time_limit)
    raise JobTooSlow(
        f"{model} at x{scale} on {what} would take about {_minutes(seconds)} here, "
        f"and a job may run {limit}. What fits: {'; '.join(fits) or 'nothing'}."
    )
