"""Job events as webhooks carry them: the payload is the job as GET /v1/jobs/{id} shows it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.config import Settings
from app.jobs.models import Job
from app.jobs.representation import represent_job
from app.webhooks.events import enqueue


def enqueue_job_event(session: Session, settings: Settings, job: Job, event_type: str) -> list[str]:
    """Owe a job event; `job` must already show the new state (its data is GET /v1/jobs/{id})."""
    data = represent_job(job, settings.api_url).model_dump(mode="json")
    return enqueue(session, settings, job.account_id, event_type, data, extra_url=job.webhook_url)
