"""The message that runs a job on a worker, and what happens when it cannot be sent right away."""

from __future__ import annotations

from sqlalchemy import update

from app.db import session_scope
from app.jobs.models import Job, JobStatus
from app.task_queue import TaskMessage

UPSCALE_TASK = "mindrender.upscale"


def upscale_message(job: Job) -> TaskMessage:
    """Run `job` on a worker of its queue; if the broker is down, the next sweep sends it instead."""
    return TaskMessage(UPSCALE_TASK, (job.id,), job.queue, if_unsent=lambda: mark_unsent(job.id))


def mark_unsent(job_id: str) -> None:
    """Clear a queued job's dispatch time, so the sweeper sends it at its next pass (not minutes later)."""
    with session_scope() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED).values(dispatched_at=None)
        )
        session.commit()
