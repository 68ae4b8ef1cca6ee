"""Sending jobs to the Celery queue, always after the job's transaction has committed."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def send_upscale(job_id: str, queue: str) -> bool:
    """Queue a job for a worker; a failure is logged and the sweeper re-sends the job later."""
    from workers.celery_app import get_celery

    try:
        get_celery().send_task("mindrender.upscale", args=[job_id], queue=queue)
        return True
    except Exception:
        log.warning("could not queue job %s now; the sweeper will retry", job_id, exc_info=True)
        return False
