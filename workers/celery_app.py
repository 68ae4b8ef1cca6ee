"""The workers' Celery app (configured by app.broker.factory) and its signals, built by a function."""

from __future__ import annotations

from celery import Celery, signals

from app.broker.factory import make_celery
from app.broker.names import JOB_QUEUES
from app.config import Settings, get_settings

__all__ = ["JOB_QUEUES", "app", "create_worker_app"]


def create_worker_app(settings: Settings | None = None) -> Celery:
    """The Celery app a worker or beat process runs, from `settings` (the environment's by default)."""
    return make_celery(settings or get_settings())


@signals.setup_logging.connect
def _configure_logging(**_: object) -> None:
    """Workers and beat log like the API: JSON lines (or text) on stderr, with the job id if any."""
    from app.ops.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)


# `celery -A workers.celery_app worker|beat|inspect` (app/cli.py, docker-compose.yml, deploy/kubernetes/,
# tests/support.py) finds the app by this name, and workers/tasks.py registers its tasks on it.
app = create_worker_app()
