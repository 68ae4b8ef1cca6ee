"""Webhook endpoints of an account: register, list, delete, rotate secrets, read and redeliver messages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.broker.publish import send_after_commit
from app.config import Settings
from app.db import utcnow
from app.webhooks.address_guard import check_webhook_url
from app.webhooks.errors import DeliveryNotFound, EndpointLimit, EndpointNotFound, UnknownEventType
from app.webhooks.events import delivery_message
from app.webhooks.models import (
    AccountWebhookSecret,
    EventType,
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
    new_secret,
)

ROTATION_GRACE = timedelta(hours=24)
MAX_ENDPOINTS = 20


def create_endpoint(
    session: Session, settings: Settings, account_id: str, url: str, events: list[str]
) -> WebhookEndpoint:
    unknown = sorted(set(events) - set(EventType.ALL))
    if unknown or not events:
        raise UnknownEventType(f"Unknown event type(s): {', '.join(unknown) or '(none given)'}.")
    check_webhook_url(settings, url)
    count = len(list_endpoints(session, account_id))
    if count >= MAX_ENDPOINTS:
        raise EndpointLimit(f"At most {MAX_ENDPOINTS} endpoints per account.")
    endpoint = WebhookEndpoint(account_id=account_id, url=url, events=",".join(dict.fromkeys(events)))
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, account_id: str) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)
    return list(session.execute(query.order_by(WebhookEndpoint.created_at)).scalars())


def get_endpoint(session: Session, account_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.account_id != account_id:
        raise EndpointNotFound()
    return endpoint


def delete_endpoint(session: Session, account_id: str, endpoint_id: str) -> None:
    session.delete(get_endpoint(session, account_id, endpoint_id))


def rotate_secret(session: Session, account_id: str, endpoint_id: str) -> WebhookEndpoint:
    """A new secret; messages are signed with both for 24 hours so receivers can switch over."""
    endpoint = get_endpoint(session, account_id, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_GRACE
    endpoint.secret = new_secret()
    return endpoint


def account_secret(session: Session, account_id: str) -> str:
    row = session.get(AccountWebhookSecret, account_id)
    if row is None:
        row = AccountWebhookSecret(account_id=account_id)
        session.add(row)
        session.flush()
    return row.secret


def list_deliveries(
    session: Session, account_id: str, endpoint_id: str, limit: int
) -> list[tuple[WebhookMessage, list[WebhookAttempt]]]:
    get_endpoint(session, account_id, endpoint_id)
    messages = session.execute(
        select(WebhookMessage)
        .where(WebhookMessage.endpoint_id == endpoint_id)
        .order_by(WebhookMessage.created_at.desc())
        .limit(limit)
    ).scalars()
    result = []
    for message in messages:
        attempts = session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.message_id == message.id)
            .order_by(WebhookAttempt.attempt)
        ).scalars()
        result.append((message, list(attempts)))
    return result


def get_delivery(session: Session, account_id: str, endpoint_id: str, message_id: str) -> WebhookMessage:
    """One message of the account's endpoint; another account's is not found (nothing of it is touched)."""
    endpoint = get_endpoint(session, account_id, endpoint_id)
    message = session.get(WebhookMessage, message_id)
    if message is None or message.endpoint_id != endpoint.id:
        raise DeliveryNotFound()
    return message


def redeliver(session: Session, message: WebhookMessage) -> WebhookMessage:
    """One more attempt now, with the same webhook-id (also after the schedule gave up)."""
    if message.status != MessageStatus.DELIVERING:
        message.status = MessageStatus.PENDING
        message.next_attempt_at = utcnow()
        message.max_attempts = message.attempts + 1
        message.finished_at = None
        send_after_commit(session, delivery_message(message.id))
    return message
