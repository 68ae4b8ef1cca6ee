"""The outbox: webhook messages are written in the same transaction as the change they announce.

A message is therefore never lost (the change committed, so did the message) and never sent for a change
that rolled back. After the commit the messages are handed to Celery (app/broker/publish.py); a beat task
re-sends any that a lost broker message left behind (`dispatch_due`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.broker.names import DELIVER_WEBHOOK_TASK, MAINTENANCE_QUEUE
from app.broker.publish import TaskMessage, send_after_commit
from app.config import Settings
from app.db import utcnow
from app.webhooks.models import WebhookEndpoint, WebhookMessage


def retry_schedule(settings: Settings) -> list[float]:
    """Seconds to wait before each attempt (the first is normally 0: immediately)."""
    return [float(part) for part in settings.webhook_retry_schedule.split(",") if part.strip()]


def enqueue(
    session: Session,
    settings: Settings,
    account_id: str,
    event_type: str,
    data: dict[str, Any],
    extra_url: str | None = None,
) -> list[str]:
    """Owe `event_type` to every live endpoint of the account subscribed to it (and to `extra_url`)."""
    now = utcnow()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
    )
    endpoints = session.execute(
        select(WebhookEndpoint).where(
            WebhookEndpoint.account_id == account_id, WebhookEndpoint.disabled_at.is_(None)
        )
    ).scalars()
    targets: list[tuple[str | None, str]] = [(e.id, e.url) for e in endpoints if event_type in e.event_list]
    if extra_url:
        targets.append((None, extra_url))
    attempts = len(retry_schedule(settings))
    messages = [
        WebhookMessage(
            account_id=account_id,
            endpoint_id=endpoint_id,
            url=url,
            event_type=event_type,
            payload=body,
            max_attempts=attempts,
            next_attempt_at=now,
        )
        for endpoint_id, url in targets
    ]
    session.add_all(messages)
    session.flush()
    for message in messages:
        send_after_commit(session, delivery_message(message.id))
    return [m.id for m in messages]


def delivery_message(message_id: str, countdown: float | None = None) -> TaskMessage:
    """Deliver one webhook message (if unsent now, the beat task's `dispatch_due` sends it)."""
    return TaskMessage(DELIVER_WEBHOOK_TASK, (message_id,), MAINTENANCE_QUEUE, countdown=countdown or None)
