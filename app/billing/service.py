"""Billing use cases: Checkout and portal sessions, and applying Stripe events exactly once."""

from __future__ import annotations

import json
import logging
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.billing.errors import InvalidSignature, NoBillingCustomer, UnknownProduct
from app.billing.models import BillingCustomer, CreditPurchase, StripeEvent, Subscription
from app.billing.products import Catalog, Plan
from app.billing.stripe_api import call, client_for, verify_event
from app.config import Settings
from app.credits.models import EntryKind
from app.credits.service import grant_credits, take_back_credits

log = logging.getLogger(__name__)
LIVE_SUBSCRIPTION = {"active", "trialing", "past_due"}
PERIOD_INVOICES = {"subscription_create", "subscription_cycle"}
FREE_PLAN = "free"


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# Typed reads of an event's content: a value of another type counts as absent, so that an event of an
# unexpected shape is ignored rather than handed to a query (where a dict or a number made a 500).
def _text(data: Any, *keys: str) -> str | None:
    value = _dig(data, *keys)
    return value if isinstance(value, str) else None


def _map(data: Any, *keys: str) -> dict[str, Any]:
    value = _dig(data, *keys)
    return value if isinstance(value, dict) else {}


# --- Checkout and portal ---------------------------------------------------------------------------------


def _customer_id(session: Session, settings: Settings, account: Account) -> str:
    """The account's Stripe customer, created on first purchase (so every later event maps back)."""
    existing = session.get(BillingCustomer, account.id)
    if existing is not None:
        return existing.stripe_customer_id
    client = client_for(settings)
    customer = call(
        client.v1.customers.create, {"email": account.email, "metadata": {"account_id": account.id}}
    )
    try:
        with session.begin_nested():
            session.add(BillingCustomer(account_id=account.id, stripe_customer_id=customer.id))
    except IntegrityError:  # a concurrent checkout created one first: use that
        winner = session.get(BillingCustomer, account.id)
        assert winner is not None
        return winner.stripe_customer_id
    return str(customer.id)


def _line_item(
    name: str, price_id: str | None, amount: int, currency: str, interval: str | None
) -> dict[str, Any]:
    if price_id:
        return {"price": price_id, "quantity": 1}
    price_data: dict[str, Any] = {"currency": currency, "unit_amount": amount, "product_data": {"name": name}}
    if interval:
        price_data["recurring"] = {"interval": interval}
    return {"price_data": price_data, "quantity": 1}


def create_checkout(
    session: Session,
    settings: Settings,
    catalog: Catalog,
    account: Account,
    plan_id: str | None,
    pack_id: str | None,
) -> str:
    """A Stripe Checkout Session for one plan (subscription) or pack (payment); returns its URL."""
    plan = catalog.plan(plan_id) if plan_id else None
    pack = catalog.pack(pack_id) if pack_id else None
    if (plan is None) == (pack is None) or (plan_id and pack_id):
        raise UnknownProduct()
    customer = _customer_id(session, settings, account)
    base = settings.api_url.rstrip("/")
    params: dict[str, Any] = {
        "customer": customer,
        "client_reference_id": account.id,
        "success_url": f"{base}/?checkout=success",
        "cancel_url": f"{base}/?checkout=canceled",
    }
    if plan is not None:
        metadata = {"account_id": account.id, "plan": plan.id}
        params |= {
            "mode": "subscription",
            "line_items": [
                _line_item(
                    plan.name, plan.stripe_price_id, plan.price.amount, plan.price.currency, plan.interval
                )
            ],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
    else:
        assert pack is not None
        metadata = {"account_id": account.id, "pack": pack.id}
        params |= {
            "mode": "payment",
            "line_items": [
                _line_item(pack.name, pack.stripe_price_id, pack.price.amount, pack.price.currency, None)
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
    checkout = call(client_for(settings).v1.checkout.sessions.create, params)
    return str(checkout.url)


def create_portal(session: Session, settings: Settings, account: Account) -> str:
    customer = session.get(BillingCustomer, account.id)
    if customer is None:
        raise NoBillingCustomer()
    portal = call(
        client_for(settings).v1.billing_portal.sessions.create,
        {"customer": customer.stripe_customer_id, "return_url": settings.api_url.rstrip("/") + "/"},
    )
    return str(portal.url)


# --- Stripe events ----------------------------------------------------------------------------------------


def receive_event(
    session: Session, settings: Settings, catalog: Catalog, payload: bytes, signature: str | None
) -> bool:
    """Verify and apply one Stripe event; False if nothing was applied. Event id and effects go together.

    Nothing is applied for a duplicate, nor for a signed event whose content has a shape we do not know
    (logged): answering an error would have Stripe retry it for days, and a retry would not change it.
    """
    try:
        verify_event(settings, payload, signature)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidSignature() from exc
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise InvalidSignature("The signed body is not JSON.") from exc
    if not isinstance(event, dict) or not all(isinstance(event.get(k), str) for k in ("id", "type")):
        raise InvalidSignature("The signed body is not a Stripe event.")
    if session.get(StripeEvent, event["id"]) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(StripeEvent(id=event["id"], type=event["type"]))
            session.flush()  # a concurrent delivery of the same event waits here, then fails the unique key
            _apply(session, catalog, event)
    except IntegrityError:
        return False
    except (TypeError, AttributeError, KeyError, ValueError):
        log.warning("stripe event %s (%s) has an unexpected shape; ignored", event["id"], event["type"])
        return False
    return True


def _apply(session: Session, catalog: Catalog, event: dict[str, Any]) -> None:
    kind, obj, created = event["type"], _map(event, "data", "object"), int(event.get("created", 0))
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        _checkout_completed(session, catalog, obj, created)
    elif kind == "invoice.paid":
        _invoice_paid(session, catalog, obj, created)
    elif kind in (
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ):
        _subscription_changed(session, catalog, obj, created, deleted=kind.endswith("deleted"))
    elif kind == "charge.refunded":
        _charge_refunded(session, obj)
    else:
        log.info("stripe event %s ignored", kind)


def _account_for(session: Session, metadata: Any, customer: str | None) -> str | None:
    account_id = _text(metadata, "account_id")
    if account_id and session.get(Account, account_id) is not None:
        return str(account_id)
    if customer:
        row = session.execute(
            select(BillingCustomer).where(BillingCustomer.stripe_customer_id == customer)
        ).scalar_one_or_none()
        return row.account_id if row else None
    return None


def _grant_purchase(session: Session, purchase: CreditPurchase, kind: str) -> None:
    """Record what a payment grants and grant it, once per payment object (cs_... / in_...)."""
    if session.get(CreditPurchase, purchase.id) is not None:
        return
    session.add(purchase)
    session.flush()
    grant_credits(session, purchase.account_id, purchase.credits, kind, reference=purchase.id)


def _checkout_completed(session: Session, catalog: Catalog, obj: dict[str, Any], created: int) -> None:
    metadata = _map(obj, "metadata")
    account_id = _text(obj, "client_reference_id") or _account_for(session, metadata, _text(obj, "customer"))
    if not account_id or session.get(Account, account_id) is None:
        log.warning("checkout session %s names no known account", obj.get("id"))
        return
    if obj.get("mode") == "subscription":
        plan = catalog.plan(str(metadata.get("plan")))
        subscription = _text(obj, "subscription")
        if plan is not None and subscription:
            _record_subscription(session, subscription, account_id, plan.id, "active", created)
        return
    pack = catalog.pack(str(metadata.get("pack")))
    session_id = _text(obj, "id")
    if obj.get("payment_status") != "paid" or pack is None or session_id is None:
        return
    purchase = CreditPurchase(
        id=session_id,
        account_id=account_id,
        kind="pack",
        product_id=pack.id,
        credits=pack.credits,
        amount_paid=int(obj.get("amount_total") or pack.price.amount),
        currency=str(obj.get("currency") or pack.price.currency),
        payment_intent=_text(obj, "payment_intent"),
    )
    _grant_purchase(session, purchase, EntryKind.PACK_PURCHASE)


def _invoice_plan(catalog: Catalog, obj: dict[str, Any], metadata: dict[str, Any]) -> Plan | None:
    plan = catalog.plan(str(metadata.get("plan")))
    if plan is not None:
        return plan
    for line in _dig(obj, "lines", "data") or []:
        price = _dig(line, "pricing", "price_details", "price") or _dig(line, "price", "id")
        found = catalog.plan_for_price(price)
        if found is not None:
            return found
    return None


def _invoice_payment_intent(obj: dict[str, Any]) -> str | None:
    if intent := _text(obj, "payment_intent"):
        return intent
    for payment in _dig(obj, "payments", "data") or []:
        if intent := _text(payment, "payment", "payment_intent"):
            return intent
    return None


def _invoice_paid(session: Session, catalog: Catalog, obj: dict[str, Any], created: int) -> None:
    if obj.get("billing_reason") not in PERIOD_INVOICES:
        return  # prorations and one-off invoices grant nothing
    details = _map(obj, "parent", "subscription_details") or _map(obj, "subscription_details")
    metadata = _map(details, "metadata")
    subscription_id = _text(details, "subscription") or _text(obj, "subscription")
    account_id = _account_for(session, metadata, _text(obj, "customer"))
    plan = _invoice_plan(catalog, obj, metadata)
    invoice_id = _text(obj, "id")
    if account_id is None or plan is None or invoice_id is None:
        log.warning("invoice %s maps to no account or plan", obj.get("id"))
        return
    purchase = CreditPurchase(
        id=invoice_id,
        account_id=account_id,
        kind="plan",
        product_id=plan.id,
        credits=plan.credits_per_period,
        amount_paid=int(obj.get("amount_paid") or 0),
        currency=str(obj.get("currency") or plan.price.currency),
        payment_intent=_invoice_payment_intent(obj),
    )
    _grant_purchase(session, purchase, EntryKind.PLAN_PERIOD)
    if subscription_id:
        _record_subscription(session, subscription_id, account_id, plan.id, "active", created, only_new=True)


def _record_subscription(
    session: Session,
    subscription_id: str,
    account_id: str,
    plan_id: str,
    status: str,
    created: int,
    only_new: bool = False,
) -> None:
    """Upsert a subscription from an event no older than what we know, and set the account's plan."""
    row = session.get(Subscription, subscription_id)
    if row is not None and (only_new or row.last_event_at > created):
        return  # an older event arriving late changes nothing
    if row is None:
        row = Subscription(
            id=subscription_id, account_id=account_id, plan_id=plan_id, status=status, last_event_at=created
        )
        session.add(row)
    else:
        row.plan_id, row.status, row.last_event_at = plan_id, status, created
    session.flush()
    live = session.execute(
        select(Subscription.plan_id).where(
            Subscription.account_id == account_id, Subscription.status.in_(LIVE_SUBSCRIPTION)
        )
    ).first()
    account = session.get(Account, account_id)
    assert account is not None
    account.plan = live[0] if live else FREE_PLAN  # credits already granted stay: they never expire


def _subscription_changed(
    session: Session, catalog: Catalog, obj: dict[str, Any], created: int, deleted: bool
) -> None:
    metadata = _map(obj, "metadata")
    account_id = _account_for(session, metadata, _text(obj, "customer"))
    plan = catalog.plan(str(metadata.get("plan"))) or next(
        (
            p
            for item in _dig(obj, "items", "data") or []
            if (p := catalog.plan_for_price(_dig(item, "price", "id")))
        ),
        None,
    )
    subscription_id = _text(obj, "id")
    existing = session.get(Subscription, subscription_id) if subscription_id else None
    plan_id = plan.id if plan else (existing.plan_id if existing else None)
    if account_id is None or plan_id is None or subscription_id is None:
        log.warning("subscription %s maps to no account or plan", subscription_id)
        return
    status = "canceled" if deleted else str(obj.get("status") or "active")
    _record_subscription(session, subscription_id, account_id, plan_id, status, created)


def _charge_refunded(session: Session, obj: dict[str, Any]) -> None:
    """Take back the refunded share of a payment's credits, as far as they are unspent; record the rest."""
    intent = _text(obj, "payment_intent")
    purchase = (
        session.execute(
            select(CreditPurchase).where(CreditPurchase.payment_intent == intent)
        ).scalar_one_or_none()
        if intent
        else None
    )
    if purchase is None or purchase.amount_paid <= 0:
        log.warning("refunded charge %s matches no purchase", obj.get("id"))
        return
    refunded = min(int(obj.get("amount_refunded") or 0), purchase.amount_paid)
    owed = purchase.credits * refunded // purchase.amount_paid
    delta = owed - purchase.credits_taken_back - purchase.credits_already_spent
    purchase.amount_refunded = max(purchase.amount_refunded, refunded)
    if delta <= 0:
        return  # an older or repeated refund event
    taken = take_back_credits(
        session, purchase.account_id, delta, EntryKind.PAYMENT_REFUND, _text(obj, "id") or purchase.id
    )
    purchase.credits_taken_back += taken
    purchase.credits_already_spent += delta - taken
