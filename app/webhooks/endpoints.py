"""Routes for webhook endpoints, their delivery log, and the secret for per-job webhook URLs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from app.accounts.auth import CurrentAccount
from app.limits.policy import limits_of
from app.runtime import DbSession, RuntimeDep
from app.webhooks import service
from app.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from app.webhooks.schemas import (
    AccountSecret,
    AttemptOut,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointSecret,
)

router = APIRouter(prefix="/v1", tags=["webhooks"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid credentials"},
    404: {"description": "No such endpoint on this account"},
    422: {"description": "URL not allowed or unknown event type"},
    429: {"description": "Redelivered too often (`rate_limited`, see Retry-After)"},
}


def _endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint, from_attributes=True)


def _delivery_out(message: WebhookMessage, attempts: list[WebhookAttempt]) -> DeliveryOut:
    pending = message.status == "pending"
    return DeliveryOut(
        id=message.id,
        event_type=message.event_type,
        status=message.status,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at if pending else None,
        created_at=message.created_at,
        finished_at=message.finished_at,
        attempt_log=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post(
    "/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointCreated,
    summary="Register a webhook endpoint",
    responses=_ERRORS,
)
def create_endpoint(
    body: EndpointCreate, account: CurrentAccount, session: DbSession, runtime: RuntimeDep
) -> EndpointCreated:
    endpoint = service.create_endpoint(session, runtime.settings, account.id, body.url, body.events)
    return EndpointCreated(**_endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/webhook-endpoints", response_model=list[EndpointOut], summary="Your webhook endpoints")
def list_endpoints(account: CurrentAccount, session: DbSession) -> list[EndpointOut]:
    return [_endpoint_out(e) for e in service.list_endpoints(session, account.id)]


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook endpoint",
    responses=_ERRORS,
)
def delete_endpoint(endpoint_id: str, account: CurrentAccount, session: DbSession) -> Response:
    service.delete_endpoint(session, account.id, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointSecret,
    summary="New signing secret (the old one stays valid for 24 hours)",
    responses=_ERRORS,
)
def rotate_secret(endpoint_id: str, account: CurrentAccount, session: DbSession) -> EndpointSecret:
    endpoint = service.rotate_secret(session, account.id, endpoint_id)
    return EndpointSecret(id=endpoint.id, secret=endpoint.secret)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="Messages sent to an endpoint, newest first, with every attempt",
    responses=_ERRORS,
)
def list_deliveries(
    endpoint_id: str, account: CurrentAccount, session: DbSession, limit: int = 50
) -> list[DeliveryOut]:
    rows = service.list_deliveries(session, account.id, endpoint_id, max(1, min(limit, 200)))
    return [_delivery_out(message, attempts) for message, attempts in rows]


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    summary="Send a message again now (same webhook-id)",
    responses=_ERRORS,
)
def redeliver(
    endpoint_id: str, delivery_id: str, request: Request, account: CurrentAccount, session: DbSession
) -> DeliveryOut:
    # Found first, then limited: another account's message id is a 404 that counts nothing of its owner's.
    message = service.get_delivery(session, account.id, endpoint_id, delivery_id)
    limits_of(request).redelivery(account.id, message.id)
    return _delivery_out(service.redeliver(session, message), [])


@router.get(
    "/account/webhook-secret",
    response_model=AccountSecret,
    summary="The secret that signs messages to a job's own webhook_url",
)
def get_account_secret(account: CurrentAccount, session: DbSession) -> AccountSecret:
    return AccountSecret(secret=service.account_secret(session, account.id))
