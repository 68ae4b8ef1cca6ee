"""Request and response bodies of the webhook endpoints API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field

from app.webhooks.models import EventType


class EndpointCreate(BaseModel):
    url: str = Field(max_length=2000, examples=["https://example.com/hooks/mindrender"])
    events: list[str] = Field(
        default_factory=lambda: list(EventType.ALL), description=f"Any of {', '.join(EventType.ALL)}."
    )


class EndpointOut(BaseModel):
    id: str
    url: str
    # From a WebhookEndpoint row, its `event_list` (the column keeps them comma-separated).
    events: list[str] = Field(validation_alias=AliasChoices("event_list", "events"))
    created_at: datetime
    failing_since: datetime | None = Field(description="Set while deliveries fail; cleared by a success.")
    disabled_at: datetime | None
    disabled_reason: str | None


class EndpointSecret(BaseModel):
    id: str
    secret: str = Field(description="`whsec_` + base64: verify signatures with it (Standard Webhooks).")


class EndpointCreated(EndpointOut):
    secret: str = Field(description="Shown here and on rotation; verify signatures with it.")


class AccountSecret(BaseModel):
    secret: str = Field(description="Signs messages sent to a job's own `webhook_url`.")


class AttemptOut(BaseModel):
    attempt: int
    started_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str = Field(description="The `webhook-id` header, the same on every attempt.")
    event_type: str
    status: str = Field(description="pending, delivering, succeeded or failed.")
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    attempt_log: list[AttemptOut]
