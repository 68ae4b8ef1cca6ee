"""Celery tasks of the job workers and the sweeper: thin wrappers that call the jobs services."""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
from typing import TYPE_CHECKING

from celery import Task, signals

from app.broker.names import JOB_QUEUES, SWEEP_TASK, UPSCALE_TASK
from app.config import get_settings
from app.estimates.service import heartbeat
from app.jobs.lifecycle import ClaimOutcome
from app.jobs.processing import WorkerIdentity, run_job
from app.ops.logs import job_context
from app.runtime import Runtime
from app.sweeper import sweep
from workers.celery_app import app

if TYPE_CHECKING:
    from models.devices import Engine

log = logging.getLogger(__name__)
_settings = get_settings()


@lru_cache
def worker_runtime() -> Runtime:
    """This worker process's runtime, built from the environment's settings on first use."""
    return Runtime.start(get_settings(), celery=app)


@lru_cache
def _engine() -> Engine:
    """This worker's engine: MR_DEVICE, MR_ENGINE_BACKEND and MR_CPU_PRECISION resolved on this machine, and
    configured once per process that runs jobs (torch is imported here, not in the maintenance worker).

    A device the settings name and the machine lacks raises `DeviceUnavailable`: never the CPU instead.
    """
    from app.devices import from_settings
    from models.engine import configure_engine

    engine = from_settings(get_settings())
    configure_engine(engine)
    return engine


_checked_device: str | None = None


def _device() -> str:
    """This worker's device (cpu, cuda, vulkan, mps), as its heartbeat reports it (from the parent process,
    which never opens a device: `_check_device` asked a child)."""
    return _checked_device or _engine().device


@signals.worker_init.connect
def _check_device(sender: object, **_: object) -> None:
    """A job worker whose settings name a missing device stops before it takes a job (checked in a child
    process: this one's pool is forked from it and must find no device opened)."""
    global _checked_device
    if not set(app.amqp.queues.consume_from or {}) & set(JOB_QUEUES):
        return
    from app.devices import check_in_child

    _checked_device, described = check_in_child()
    if _checked_device is None:
        log.critical("worker not started: %s", described)
        raise SystemExit(2)
    log.info("jobs run with %s", described)


HEARTBEAT_SECONDS = 30.0


@signals.worker_ready.connect
def _start_heartbeat(sender: object, **_: object) -> None:
    """A job worker tells the API it is alive, which queues it serves and on what device (app/estimates)."""
    queues = sorted(set(app.amqp.queues.consume_from or {}) & set(JOB_QUEUES))
    if not queues:
        return  # the maintenance worker runs no jobs
    name = str(getattr(sender, "hostname", "worker"))

    def beat() -> None:
        while True:
            try:
                with worker_runtime().unit_of_work() as session:
                    heartbeat(session, name, queues, _device())
            except Exception:  # a database blip: the next beat retries
                log.warning("worker heartbeat failed", exc_info=True)
            time.sleep(HEARTBEAT_SECONDS)

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()


@app.task(
    name=UPSCALE_TASK,
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
    engine = _engine()  # the settings' device, backend and precision, configured once per pool process
    with job_context(job_id):
        claim = run_job(runtime, job_id, WorkerIdentity(self.request.hostname or "worker", engine.device))
    if claim.outcome is ClaimOutcome.BUSY:
        # Another worker's lease is still live: come back when it may have lapsed (the worker may be dead).
        raise self.retry(countdown=claim.retry_in)


@app.task(name=SWEEP_TASK, soft_time_limit=300, time_limit=360)
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
