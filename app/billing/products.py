"""What can be bought: monthly plans (credits every period, rolling over) and one-time credit packs."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field


class Price(BaseModel):
    amount: int = Field(description="In the currency's minor unit (cents).")
    currency: str = "usd"


class Plan(BaseModel):
    id: str
    name: str
    credits_per_period: int = Field(gt=0)
    price: Price
    interval: str = "month"
    stripe_price_id: str | None = Field(default=None, description="Unset: the price is sent inline.")


class Pack(BaseModel):
    id: str
    name: str
    credits: int = Field(gt=0)
    price: Price
    stripe_price_id: str | None = None


class Catalog(BaseModel):
    plans: list[Plan]
    packs: list[Pack]

    def plan(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    def pack(self, pack_id: str) -> Pack | None:
        return next((p for p in self.packs if p.id == pack_id), None)

    def plan_for_price(self, stripe_price_id: str | None) -> Plan | None:
        return next((p for p in self.plans if stripe_price_id and p.stripe_price_id == stripe_price_id), None)


DEFAULT_CATALOG = Catalog(
    plans=[
        Plan(id="basic", name="Basic", credits_per_period=100, price=Price(amount=900)),
        Plan(id="pro", name="Pro", credits_per_period=500, price=Price(amount=2900)),
    ],
    packs=[
        Pack(id="pack-50", name="50 credits", credits=50, price=Price(amount=500)),
        Pack(id="pack-200", name="200 credits", credits=200, price=Price(amount=1800)),
        Pack(id="pack-1000", name="1000 credits", credits=1000, price=Price(amount=7900)),
    ],
)


@lru_cache(maxsize=8)
def load_products(override_json: str | None) -> Catalog:
    """The configured plans and packs (MR_BILLING_CATALOG), or the defaults."""
    return Catalog.model_validate_json(override_json) if override_json else DEFAULT_CATALOG
