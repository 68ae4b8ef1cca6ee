"""Request and response bodies of the billing API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.billing.products import Price


class PlanOut(BaseModel):
    id: str
    name: str
    credits_per_period: int
    interval: str
    price: Price


class PackOut(BaseModel):
    id: str
    name: str
    credits: int
    price: Price


class PlansOut(BaseModel):
    plans: list[PlanOut]
    packs: list[PackOut]


class CheckoutIn(BaseModel):
    plan: str | None = Field(default=None, description="A plan id (monthly subscription).")
    pack: str | None = Field(default=None, description="A pack id (one-time purchase).")


class RedirectOut(BaseModel):
    url: str = Field(description="Send the browser here (Stripe-hosted page).")
