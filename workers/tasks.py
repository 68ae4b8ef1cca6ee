"""Celery tasks: thin wrappers that open a session and call the jobs services."""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Task

from app.config import get_settings
from app.db import get_sessionmaker, session_scope
from app.jobs.lifecycle import ClaimOutcome, sweep
from app.jobs.processing import run_job
from app.ops.logs import job_context
from app.storage import get_storage
from models.manifest import register_manifest
from workers.celery_app import app

log = logging.getLogger(__name__)
_settings = get_settings()
register_manifest(_settings.resolved_models_dir)


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
    _configure_engine(get_settings().cpu_precision)
    with job_context(job_id):
        claim = run_job(get_sessionmaker(), get_storage(), get_settings(), job_id)
    if claim.outcome is ClaimOutcome.BUSY:
        # Another worker's lease is still live: come back when it may have lapsed (the worker may be dead).
        raise self.retry(countdown=claim.retry_in)


@app.task(name="mindrender.sweep", soft_time_limit=300, time_limit=360)
def sweep_jobs() -> None:
    """Fail lost jobs with a refund, re-send stale queued jobs, delete inputs and expired results."""
    with session_scope() as session:
        report = sweep(session, get_storage(), get_settings())
    if report.lost or report.redispatched or report.expired or report.inputs_deleted:
        log.info(
            "sweep: lost=%d redispatched=%d expired=%d inputs_deleted=%d",
            len(report.lost),
            len(report.redispatched),
            len(report.expired),
            len(report.inputs_deleted),
        )
