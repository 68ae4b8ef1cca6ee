"""The few Stripe API calls billing makes, through the official library's StripeClient."""

from __future__ import annotations

from typing import Any

import stripe

from app.billing.errors import BillingDisabled, StripeUnavailable
from app.config import Settings


def client_for(settings: Settings) -> stripe.StripeClient:
    """A client on the configured key and API address; 503 billing_disabled without a key."""
    if not settings.stripe_secret_key:
        raise BillingDisabled()
    return stripe.StripeClient(
        settings.stripe_secret_key, base_addresses={"api": settings.stripe_api_base}, max_network_retries=2
    )


def call(method: Any, params: dict[str, Any]) -> Any:
    """One Stripe call; its failures become a 502 `payment_provider_error` the client can retry."""
    try:
        return method(params)
    except stripe.StripeError as exc:
        raise StripeUnavailable(f"Stripe refused or could not be reached ({type(exc).__name__}).") from exc


def verify_event(settings: Settings, payload: bytes, signature: str | None) -> None:
    """Check the Stripe-Signature header over the exact bytes with the library (HMAC, 5-minute tolerance)."""
    if not settings.stripe_webhook_secret:
        raise BillingDisabled()
    stripe.WebhookSignature.verify_header(
        payload.decode("utf-8", errors="replace"),
        signature or "",
        settings.stripe_webhook_secret,
        tolerance=300,
    )
