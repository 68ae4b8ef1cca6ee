"""The Celery app's configuration: broker from settings, reliability options, queues and the beat schedule."""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from app.broker.names import MAINTENANCE_QUEUE, QUEUES, SWEEP_TASK, WEBHOOKS_DUE_TASK
from app.config import Settings


def make_celery(settings: Settings) -> Celery:
    """Configure Celery so that a job is never lost and never runs twice at once.

    acks_late + reject_on_worker_lost put a job back when its worker dies; the database lease and attempt
    cap (app.jobs.lifecycle) stop a poisoned job from being redelivered forever. Results are ignored:
    the database is the source of truth for job state.
    """
    broker_url = settings.resolved_broker_url
    transport_options: dict[str, object] = {
        # Far above the hard time limit, so a slow job is never handed to a second worker while running.
        "visibility_timeout": settings.job_soft_time_limit * 2 + 600,
    }
    if broker_url.startswith(("redis", "rediss")):
        # A hung Redis must fail a publish in seconds, not hold its thread forever (above kombu's 1 s BRPOP).
        transport_options.update(socket_connect_timeout=2, socket_timeout=5)
    if broker_url.startswith("filesystem"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            control_folder=str(folder / "control"),
            store_processed=False,
            # Seconds between looks at the folder: a new job starts within 0.2 s, not kombu's 1 s.
            polling_interval=0.2,
        )
    celery = Celery("mindrender", broker=broker_url, include=["workers.tasks", "workers.webhooks"])
    celery.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        task_publish_retry_policy={
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_default_queue="cpu",
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule={
            # A sweep that waited past the next one is dropped (`expires`): runs never pile up.
            "sweep": {
                "task": SWEEP_TASK,
                "schedule": settings.sweep_interval,
                "options": {"queue": MAINTENANCE_QUEUE, "expires": settings.sweep_interval},
            },
            "webhooks-due": {
                "task": WEBHOOKS_DUE_TASK,
                "schedule": settings.webhook_poll_interval,
                "options": {"queue": MAINTENANCE_QUEUE, "expires": settings.webhook_poll_interval},
            },
        },
    )
    return celery
