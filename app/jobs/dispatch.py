"""The message that runs a job on a worker, and what happens when it cannot be sent right away."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.broker.names import UPSCALE_TASK
from app.broker.publish import TaskMessage, send_after_commit
from app.jobs.models import Job, JobStatus
from app.runtime import Runtime, runtime_of


def send_upscale_after_commit(session: Session, job: Job) -> None:
    """Run `job` on a worker of its queue once this unit commits; if the broker is down, the next sweep
    sends it instead."""
    runtime, job_id = runtime_of(session), job.id
    message = TaskMessage(UPSCALE_TASK, (job_id,), job.queue, if_unsent=lambda: mark_unsent(runtime, job_id))
    send_after_commit(session, message)


def mark_unsent(runtime: Runtime, job_id: str) -> None:
    """Clear a queued job's dispatch time, so the sweeper sends it at its next pass (not minutes later)."""
    with runtime.unit_of_work() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED).values(dispatched_at=None)
        )
