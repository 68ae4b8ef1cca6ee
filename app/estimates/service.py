"""Estimates: a model's speed on this service, a job's run time and wait, and refusing what cannot finish.

Workers report a heartbeat (queues, device) and, after each job, the seconds it took per output megapixel
(a moving average per worker and model). A queue's speed for a model is its fastest live worker's own
figure, or the default for that worker's device until it has measured one; with no live worker, the last
figure any worker measured, or the CPU default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.estimates.defaults import default_seconds_per_megapixel
from app.estimates.errors import JobTooSlow
from app.estimates.models import ModelSpeed, WorkerSeen
from app.jobs.models import Job, JobStatus

# A worker is live while its heartbeat (every 30 s) is this recent.
LIVE_FOR = timedelta(minutes=2)
# Decoding, storing and encoding around the network: about a second for a small job on the VM.
OVERHEAD_SECONDS = 1.0
# Estimates err: a job is refused when its estimate passes this share of the soft time limit.
LIMIT_SHARE = 0.8
# Weight of a new measurement in a worker's moving average.
NEW_SAMPLE_WEIGHT = 0.3
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

    def seconds_for(self, output_pixels: int, encoding: float = 0.0) -> float:
        """A job's run time for its output pixels (every frame's, for a video), plus `encoding` seconds
        per output megapixel for writing a video."""
        return OVERHEAD_SECONDS + output_pixels / 1e6 * (self.seconds_per_megapixel + encoding)


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


def record_job_speed(
    session: Session, worker: str, device: str, model: str, seconds: float, output_pixels: int
) -> None:
    """Fold one finished job's run time into the worker's moving average for the model."""
    if output_pixels < MEASURED_ABOVE_PIXELS:
        return
    sample = max(seconds - OVERHEAD_SECONDS, 0.0) / (output_pixels / 1e6)
    known = session.get(ModelSpeed, (worker, model))
    if known is None:
        _upsert(
            session,
            ModelSpeed(worker=worker, model=model, device=device, seconds_per_megapixel=sample, samples=1),
        )
        return
    known.seconds_per_megapixel += NEW_SAMPLE_WEIGHT * (sample - known.seconds_per_megapixel)
    known.samples += 1
    known.device = device
    known.updated_at = utcnow()


def _live_workers(session: Session, queue: str, now: datetime) -> list[WorkerSeen]:
    seen = session.execute(select(WorkerSeen).where(WorkerSeen.seen_at > now - LIVE_FOR)).scalars()
    return [worker for worker in seen if queue in worker.queue_list]


def model_speed(session: Session, queue: str, model: str) -> Speed:
    """This service's speed for a model on a queue (see the module's docstring for the order of sources)."""
    workers = _live_workers(session, queue, utcnow())
    measured = {
        row.worker: row.seconds_per_megapixel
        for row in session.execute(select(ModelSpeed).where(ModelSpeed.model == model)).scalars()
    }
    if workers:
        figures = [
            (measured[w.name], True)
            if w.name in measured
            else (default_seconds_per_megapixel(model, w.device), False)
            for w in workers
        ]
        seconds, was_measured = min(figures)
        return Speed(seconds, was_measured, len(workers))
    if measured:
        return Speed(min(measured.values()), True, 0)
    return Speed(default_seconds_per_megapixel(model, "cpu"), False, 0)


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
    seconds = speed.seconds_for(output_pixels, encoding)
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


def eta_seconds(session: Session, job: Job, speed: Speed) -> float | None:
    """Seconds until an active job should end: its own remaining time, plus, while queued, the remaining
    time of the jobs ahead of it on its queue shared among the queue's live workers. None once it ended."""
    now = utcnow()
    own = job.estimated_seconds or speed.seconds_for(
        job.output_pixels, encoding_seconds_per_megapixel(job.output_format)
    )
    if job.status == JobStatus.RUNNING:
        elapsed = (now - job.started_at).total_seconds() if job.started_at else 0.0
        if job.progress >= 0.05:
            return max(elapsed / job.progress * (1 - job.progress), 0.0)
        return max(own - elapsed, 0.0)
    if job.status != JobStatus.QUEUED:
        return None
    ahead = session.execute(
        select(func.coalesce(func.sum(Job.estimated_seconds * (1 - Job.progress)), 0.0)).where(
            and_(
                Job.queue == job.queue,
                Job.status.in_(JobStatus.ACTIVE),
                Job.created_at < job.created_at,
            )
        )
    ).scalar_one()
    return float(ahead or 0.0) / max(speed.live_workers, 1) + own
