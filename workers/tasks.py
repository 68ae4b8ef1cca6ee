"""Celery tasks of the job workers and the sweeper: thin wrappers that call the jobs services."""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Task

from app.config import get_settings
from app.jobs.lifecycle import ClaimOutcome
from app.jobs.processing import run_job
from app.jobs.retention import sweep
from app.ops.logs import job_context
from app.runtime import Runtime
from workers.celery_app import app

log = logging.getLogger(__name__)
_settings = get_settings()


@lru_cache
def worker_runtime() -> Runtime:
    """This worker process's runtime, built from the environment's settings on first use."""
    return Runtime.start(get_settings(), celery=app)


@lru_cache
def _configure_engine(cpu_precision: str) -> None:
    """Once per process that runs jobs (torch is imported here, not in the maintenance worker)."""
    from models.spandrel_upscaler import set_cpu_precision

    set_cpu_precision(cpu_precision)


@app.task(
    name="mindrender.upscale",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=_settings.job_soft_time_limit,
    time_limit=_settings.job_soft_time_limit + 60,
    max_retries=None,
)
def upscale_job(self: Task, job_id: str) -> None:  # type: ignore[type-arg]
    """Run one upscale job; idempotent (a duplicate delivery finds the job claimed or done and returns)."""
    runtime = worker_runtime()
    _configure_engine(runtime.settings.cpu_precision)
    with job_context(job_id):
        claim = run_job(runtime, job_id)
    if claim.outcome is ClaimOutcome.BUSY:
        # Another worker's lease is still live: come back when it may have lapsed (the worker may be dead).
        raise self.retry(countdown=claim.retry_in)


@app.task(name="mindrender.sweep", soft_time_limit=300, time_limit=360)
def sweep_jobs() -> None:
    """Fail lost jobs with a refund, re-send stale queued jobs, delete inputs and expired results."""
    report = sweep(worker_runtime())
    if report.lost or report.redispatched or report.expired or report.inputs_deleted:
        log.info(
            "sweep: lost=%d redispatched=%d expired=%d inputs_deleted=%d",
            len(report.lost),
            len(report.redispatched),
            len(report.expired),
            len(report.inputs_deleted),
        )
