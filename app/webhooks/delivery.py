"""Delivering one webhook message: claim the attempt, sign, send to the pinned address, record, decide."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.broker.publish import send_after_commit
from app.config import Settings
from app.db import utcnow
from app.runtime import Runtime
from app.totals import service as totals
from app.webhooks.address_guard import resolve_target
from app.webhooks.errors import WebhookUrlNotAllowed
from app.webhooks.events import delivery_message, retry_schedule
from app.webhooks.models import (
    AccountWebhookSecret,
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from app.webhooks.signing import signature_header

TIMEOUT_SECONDS = 15
LEASE_SECONDS = 60
DISABLE_AFTER = timedelta(days=5)
MAX_RETRY_AFTER = 86400
_HONOURS_RETRY_AFTER = {429, 502, 504}
_EXCERPT = 1024


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - utcnow()).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _claim(session: Session, message_id: str) -> int | None:
    now = utcnow()
    attempt = session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.id == message_id,
            WebhookMessage.status == MessageStatus.PENDING,
            WebhookMessage.next_attempt_at <= now,
            WebhookMessage.attempts < WebhookMessage.max_attempts,
        )
        .values(
            status=MessageStatus.DELIVERING,
            attempts=WebhookMessage.attempts + 1,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
        )
        .returning(WebhookMessage.attempts)
    ).scalar_one_or_none()
    return attempt


def _secrets(session: Session, message: WebhookMessage, endpoint: WebhookEndpoint | None) -> list[str]:
    if endpoint is None:
        row = session.get(AccountWebhookSecret, message.account_id)
        if row is None:
            row = AccountWebhookSecret(account_id=message.account_id)
            session.add(row)
            session.flush()
        return [row.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > utcnow():
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def send(url: str, message_id: str, body: bytes, secrets: list[str], allow_private: bool) -> Outcome:
    """POST one signed message; redirects are failures, never followed."""
    started = time.perf_counter()
    try:
        target = resolve_target(url, allow_private)
    except WebhookUrlNotAllowed:
        return Outcome(None, "address_not_allowed", 0)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "MindRender-Webhooks/1.0",
        "host": target.host_header,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, message_id, timestamp, body),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(target.pinned_url, content=body, headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        return Outcome(None, "timeout", round((time.perf_counter() - started) * 1000))
    except httpx.HTTPError as exc:
        return Outcome(
            None, f"connection_error: {type(exc).__name__}", round((time.perf_counter() - started) * 1000)
        )
    return Outcome(
        response.status_code,
        None,
        round((time.perf_counter() - started) * 1000),
        response.text[:_EXCERPT],
        _retry_after(response.headers.get("retry-after")),
    )


def _next_delay(settings: Settings, attempts: int, outcome: Outcome) -> float:
    if outcome.status_code in _HONOURS_RETRY_AFTER and outcome.retry_after is not None:
        return outcome.retry_after
    schedule = retry_schedule(settings)
    base = schedule[min(attempts, len(schedule) - 1)]
    return base * random.uniform(0.9, 1.1)


def _disable(endpoint: WebhookEndpoint, now: datetime, reason: str) -> None:
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason


def _decide(
    settings: Settings, message: WebhookMessage, endpoint: WebhookEndpoint | None, outcome: Outcome
) -> float | None:
    """Update the message (and endpoint) after an attempt; returns the delay of a retry, if any."""
    now = utcnow()
    message.lease_until = None
    if outcome.ok:
        message.status, message.finished_at = MessageStatus.SUCCEEDED, now
        if endpoint is not None:
            endpoint.failing_since = None
        return None
    if endpoint is not None:
        endpoint.failing_since = endpoint.failing_since or now
        if outcome.status_code == 410:
            _disable(endpoint, now, "The endpoint answered 410 Gone.")
        elif now - endpoint.failing_since >= DISABLE_AFTER:
            _disable(endpoint, now, "Every delivery failed for 5 days.")
        if endpoint.disabled_at is not None:
            message.status, message.finished_at = MessageStatus.FAILED, now
            return None
    if message.attempts >= message.max_attempts:
        message.status, message.finished_at = MessageStatus.FAILED, now
        return None
    delay = _next_delay(settings, message.attempts, outcome)
    message.status, message.next_attempt_at = MessageStatus.PENDING, now + timedelta(seconds=delay)
    return delay


def deliver(runtime: Runtime, message_id: str) -> None:
    """Make the next attempt of a message if it is due; safe to call twice (the claim is atomic).

    Three steps: claim the attempt (committed, so no other worker makes it), send with no transaction open,
    record the outcome.
    """
    settings = runtime.settings
    with runtime.unit_of_work() as session:
        attempt = _claim(session, message_id)
        if attempt is None:
            return
        message = session.get(WebhookMessage, message_id)
        assert message is not None
        endpoint = session.get(WebhookEndpoint, message.endpoint_id) if message.endpoint_id else None
        secrets = _secrets(session, message, endpoint)
        url, body = message.url, message.payload.encode()
    outcome = send(url, message_id, body, secrets, settings.webhook_allow_private)
    with runtime.unit_of_work() as session:
        message = session.get(WebhookMessage, message_id)
        if message is None:  # the endpoint was deleted meanwhile
            return
        endpoint = session.get(WebhookEndpoint, message.endpoint_id) if message.endpoint_id else None
        session.add(
            WebhookAttempt(
                message_id=message_id,
                attempt=attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                response_excerpt=outcome.excerpt,
            )
        )
        delay = _decide(settings, message, endpoint, outcome)
        _count(session, message, outcome)
        # Short waits in Celery; longer ones wait in the database for dispatch_due.
        if delay is not None and delay <= LEASE_SECONDS:
            send_after_commit(session, delivery_message(message_id, delay))


def _count(session: Session, message: WebhookMessage, outcome: Outcome) -> None:
    """The attempt's outcome, and the message's end if this attempt ended it (app/totals/service.py)."""
    kind = "success" if outcome.ok else "no_response" if outcome.status_code is None else "http_error"
    totals.add(session, "webhook_attempts", 1, outcome=kind)
    if message.status in (MessageStatus.SUCCEEDED, MessageStatus.FAILED):
        totals.add(session, "webhook_messages_finished", 1, event=message.event_type, status=message.status)


def dispatch_due(session: Session) -> list[str]:
    """Beat task body: settle attempts a dead worker left `delivering`, then send every due message."""
    now = utcnow()
    stale = (WebhookMessage.status == MessageStatus.DELIVERING, WebhookMessage.lease_until < now)
    given_up = (
        session.execute(
            update(WebhookMessage)
            .where(*stale, WebhookMessage.attempts >= WebhookMessage.max_attempts)
            .values(status=MessageStatus.FAILED, lease_until=None, finished_at=now)
            .returning(WebhookMessage.event_type)
        )
        .scalars()
        .all()
    )
    for event in given_up:
        totals.add(session, "webhook_messages_finished", 1, event=event, status=MessageStatus.FAILED)
    session.execute(
        update(WebhookMessage).where(*stale).values(status=MessageStatus.PENDING, lease_until=None)
    )
    due = list(
        session.execute(
            select(WebhookMessage.id).where(
                WebhookMessage.status == MessageStatus.PENDING, WebhookMessage.next_attempt_at <= now
            )
        ).scalars()
    )
    for message_id in due:
        send_after_commit(session, delivery_message(message_id))
    return due
