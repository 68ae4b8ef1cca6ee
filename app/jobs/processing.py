"""Running one job in a worker: claim, decode, upscale with a live lease and progress, store, record."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded

from app.errors import DomainError
from app.estimates.defaults import default_seconds_per_megapixel
from app.estimates.service import encoding_seconds_per_megapixel, record_job_speed
from app.jobs.errors import InputMissing
from app.jobs.lifecycle import Claim, ClaimOutcome, claim_job, complete_job, fail_attempt, renew_lease
from app.jobs.models import Job
from app.jobs.retention import release_input
from app.media.image_codec import OUTPUT_FORMATS, DecodedImage, decode_image, encode_image
from app.media.media import read_media_header
from app.media.metadata import result_metadata
from app.media.video_probe import VIDEO_OUTPUT_FORMATS, VideoInfo
from app.media.video_upscale import FrameUpscaler, VideoTarget, upscale_video
from app.runtime import Runtime
from app.storage import Storage
from models.recipe import Step, run_recipe_to_integers
from models.spec import ModelSpec, ProgressFn, WeightsMissing

log = logging.getLogger(__name__)


# Least seconds between two progress writes (each also checks the job is still ours): one UPDATE of the
# job's row, so a model with windows of a few milliseconds does not write once per window.
CHECK_SECONDS = 0.5


# Seconds each step of a job's recipe ran, over all its frames.
Timings = dict[Step, float]


class JobAborted(Exception):
    """The job stopped being ours (canceled, or taken over after our lease lapsed)."""


@dataclass
class _Lease:
    """Renews a running attempt's lease in the background and carries the latest progress to the database."""

    runtime: Runtime
    job_id: str
    attempt: int
    progress: float = 0.0
    lost: bool = False

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.job_id}", daemon=True)
        self._last_write = 0.0

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = self.runtime.settings.job_lease_seconds / 3
        while not self._stop.wait(interval):
            self._renew()

    def _renew(self) -> None:
        try:
            with self.runtime.unit_of_work() as session:
                lease_seconds = self.runtime.settings.job_lease_seconds
                alive = renew_lease(session, self.job_id, self.attempt, lease_seconds, self.progress)
            self.lost = self.lost or not alive
        except Exception:  # a database blip must not kill the job; the next renewal retries
            log.warning("lease renewal failed for job %s", self.job_id, exc_info=True)

    def report(self, fraction: float) -> None:
        """Progress callback from the engine, after each window (frame, band): raises JobAborted when the
        job is no longer ours, in the very call whose check learns it, so a cancel stops the work at the end
        of the window it landed in (and at most `CHECK_SECONDS` later), not one window after that."""
        self.progress = min(max(fraction, 0.0), 1.0)
        now = time.monotonic()
        if now - self._last_write >= CHECK_SECONDS:
            self._last_write = now
            self._renew()
        if self.lost:
            raise JobAborted()


def _error_for(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time_limit", "The job took longer than the time limit; refunded."
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "out_of_memory", "The job ran out of memory; refunded."
    if isinstance(exc, DomainError):
        return exc.code, exc.detail
    if isinstance(exc, WeightsMissing):
        return "model_unavailable", "The model's weights are not installed on the worker; refunded."
    return "internal_error", "The upscale failed unexpectedly; refunded."


def _input_of(storage: Storage, job: Job) -> bytes:
    try:
        if job.input_key is not None:
            return storage.get(job.input_key)
    except FileNotFoundError:
        pass
    raise InputMissing()


@dataclass(frozen=True)
class WorkerIdentity:
    """Who runs jobs here: the worker's name and device, under which its measured speeds are kept."""

    name: str
    device: str


def run_job(runtime: Runtime, job_id: str, worker: WorkerIdentity | None = None) -> Claim:
    """Process one job end to end; any failure ends it `failed` with its refund in the same transaction."""
    settings = runtime.settings
    with runtime.unit_of_work() as session:
        claim = claim_job(session, settings, job_id)
        job = session.get(Job, job_id)
    if claim.outcome is not ClaimOutcome.CLAIMED or job is None:
        return claim
    lease = _Lease(runtime, job_id, claim.attempt)
    started = time.monotonic()
    log.info(
        "job started: %s x%d, attempt %d",
        job.model,
        job.scale,
        claim.attempt,
        extra={"model": job.model, "scale": job.scale, "attempt": claim.attempt},
    )
    timings: Timings = {}
    try:
        with lease:
            _process(runtime, job, claim.attempt, lease, timings)
        seconds = time.monotonic() - started
        log.info("job succeeded in %.2f s", seconds, extra={"duration_ms": round(seconds * 1000)})
        if worker is not None:
            _record_speeds(runtime, job, worker, seconds, timings)
    except JobAborted:
        # The progress says how much of the work ran after all: the cancel's refund and status stand.
        log.info(
            "job %s attempt %s stopped at progress %.4f: no longer ours (canceled or taken over)",
            job_id,
            claim.attempt,
            lease.progress,
            extra={"attempt": claim.attempt, "progress": lease.progress},
        )
    except BaseException as exc:
        code, message = _error_for(exc)
        log.error("job %s failed: %s", job_id, code, exc_info=code == "internal_error")
        with runtime.unit_of_work() as session:
            fail_attempt(session, settings, job_id, claim.attempt, code, message)
        if not isinstance(exc, Exception):
            raise
    finally:
        release_input(runtime, job_id)
    return claim


def _record_speeds(
    runtime: Runtime, job: Job, worker: WorkerIdentity, seconds: float, timings: Timings
) -> None:
    """The job's run time as a speed sample of its model; a recipe of several steps gives one sample per
    step, of its own seconds and output pixels."""
    frames = job.input_frames or 1
    if len(timings) > 1:
        input_pixels = job.input_width * job.input_height * frames
        samples = [
            (step.model, t, input_pixels * step.scale_at(job.scale) ** 2) for step, t in timings.items()
        ]
    else:
        # A video's encoding is estimated on its own: the model's figure is the model's time alone.
        encoding = encoding_seconds_per_megapixel(job.output_format) * job.output_pixels / 1e6
        samples = [(job.model, seconds - encoding, job.output_pixels)]
    with runtime.unit_of_work() as session:
        for model, model_seconds, pixels in samples:
            record_job_speed(
                session,
                worker.name,
                worker.device,
                model,
                model_seconds,
                pixels,
                frames=frames,
                account_id=job.account_id,
            )


def _process(runtime: Runtime, job: Job, attempt: int, lease: _Lease, timings: Timings) -> None:
    if job.is_video:
        _process_video(runtime, job, attempt, lease, timings)
        return
    storage = runtime.storage
    image = decode_image(_input_of(storage, job))
    # Built straight into the final integers, band by band: host memory stays near the output's own size.
    depth = 16 if job.output_format == "png" and image.bit_depth == 16 else 8
    pixels = _recipe_runner(runtime, job, timings)(image.pixels, lease.report, depth)
    exif, icc = result_metadata(image.exif, image.icc_profile, job.metadata_mode)
    # The decoded input goes before encoding (its float pixels are up to 400 MB).
    image = DecodedImage(pixels=pixels, bit_depth=image.bit_depth, icc_profile=icc, exif=exif)
    del pixels
    result = encode_image(image, job.output_format, job.output_quality)
    # One key per attempt: a stale attempt cleaning up must never delete the result of the one that won.
    output_key = f"results/{job.id}-{attempt}.{job.output_format}"
    storage.put(output_key, result, OUTPUT_FORMATS[job.output_format])
    _record_result(runtime, job, attempt, output_key, len(result))


def _record_result(runtime: Runtime, job: Job, attempt: int, output_key: str, size: int) -> None:
    """Mark the attempt succeeded with its stored result; the result goes again if the job is no longer
    this attempt's (canceled, taken over) or recording fails."""
    try:
        with runtime.unit_of_work() as session:
            recorded = complete_job(session, runtime.settings, job.id, attempt, output_key, size)
    except BaseException:
        runtime.storage.delete(output_key)
        raise
    if not recorded:
        runtime.storage.delete(output_key)
        raise JobAborted()


def _process_video(runtime: Runtime, job: Job, attempt: int, lease: _Lease, timings: Timings) -> None:
    """Stream a clip through the model frame by frame into a temporary file, then store it.

    An attempt always starts from the first frame: a worker that dies leaves nothing behind but its lease,
    and the next attempt (or the sweeper's refund) takes it from there.
    """
    data = _input_of(runtime.storage, job)
    info = read_media_header(runtime.settings, data)
    if not isinstance(info, VideoInfo):
        raise InputMissing("The stored input is no longer the video that was submitted; refunded.")
    target = VideoTarget(job.output_format, job.output_quality, job.metadata_mode)
    with tempfile.TemporaryDirectory(prefix="mindrender-video-") as folder:
        path = Path(folder) / f"result.{job.output_format}"
        upscale_video(
            data, info, job.scale, target, path, _frame_upscaler(runtime, job, timings), lease.report
        )
        output_key = f"results/{job.id}-{attempt}.{job.output_format}"
        runtime.storage.put_file(output_key, path, VIDEO_OUTPUT_FORMATS[job.output_format])
        size = path.stat().st_size
    _record_result(runtime, job, attempt, output_key, size)


def _frame_upscaler(runtime: Runtime, job: Job, timings: Timings) -> FrameUpscaler:
    """One video frame through the engine exactly as an image goes (same recipe, weights, tiling, bands)."""
    run = _recipe_runner(runtime, job, timings)
    return lambda pixels, progress: run(pixels, progress, 8)


RecipeRunner = Callable[[np.ndarray, ProgressFn, int], np.ndarray]


def _recipe_runner(runtime: Runtime, job: Job, timings: Timings) -> RecipeRunner:
    """The job's recipe (one model, a pipeline, or a blend), read once, as a function of one image, its
    progress callback and bit depth. The progress is split between the steps by their expected seconds (the
    CPU defaults' seconds per output megapixel, each at its own size); each step's seconds are added to
    `timings`."""
    recipe = job.recipe_to_run()
    costs = [
        default_seconds_per_megapixel(step.model, "cpu") * step.scale_at(job.scale) ** 2
        for step in recipe.steps
    ]
    catalog, models_dir = runtime.catalog, runtime.settings.resolved_models_dir

    def spec_of(model: str) -> ModelSpec:
        return catalog.offer(model).spec

    def timed(step: Step, seconds: float) -> None:
        timings[step] = timings.get(step, 0.0) + seconds

    def run(pixels: np.ndarray, progress: ProgressFn, depth: int) -> np.ndarray:
        shares = costs if len(costs) > 1 else None
        return run_recipe_to_integers(
            pixels, recipe, job.scale, spec_of, models_dir, progress, depth, shares, timed=timed
        )

    return run
