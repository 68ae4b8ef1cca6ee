"""Celery tasks for outgoing webhooks: deliver one message; re-send the due ones (beat)."""

from __future__ import annotations

import logging

from app.broker.names import DELIVER_WEBHOOK_TASK, WEBHOOKS_DUE_TASK
from app.webhooks.delivery import deliver, dispatch_due
from workers.celery_app import app
from workers.tasks import worker_runtime

log = logging.getLogger(__name__)


@app.task(name=DELIVER_WEBHOOK_TASK, soft_time_limit=60, time_limit=90, acks_late=True)
def deliver_webhook(message_id: str) -> None:
    """One attempt of one message, if due; idempotent (the attempt is claimed atomically)."""
    deliver(worker_runtime(), message_id)


@app.task(name=WEBHOOKS_DUE_TASK, soft_time_limit=60, time_limit=90)
def webhooks_due() -> None:
    """Send messages whose next attempt is due (long retry delays, lost broker messages, dead workers)."""
    with worker_runtime().unit_of_work() as session:
        due = dispatch_due(session)
    if due:
        log.info("webhooks due: %d", len(due))
