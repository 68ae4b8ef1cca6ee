"""Stripe customers, applied Stripe events, what each payment granted, and subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class BillingCustomer(Base):
    __tablename__ = "billing_customers"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(100), unique=True)


class StripeEvent(Base):
    """An applied Stripe event; written in the same transaction as its effects, so each applies once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CreditPurchase(Base):
    """Credits granted by one payment (a pack's checkout session or a plan period's invoice)."""

    __tablename__ = "credit_purchases"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # cs_... or in_...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # pack | plan
    product_id: Mapped[str] = mapped_column(String(100))
    credits: Mapped[int] = mapped_column(Integer)
    amount_paid: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(10))
    payment_intent: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    amount_refunded: Mapped[int] = mapped_column(Integer, default=0)
    credits_taken_back: Mapped[int] = mapped_column(Integer, default=0)
    credits_already_spent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # sub_...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(40))
    last_event_at: Mapped[int] = mapped_column(Integer)  # Stripe's event `created`: older events are ignored
