"""Stripe billing end to end with the real stripe library: API calls to a local fake Stripe, signed events."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.credits.service import ledger_sum
from app.main import create_app
from tests.billing.fake_stripe import WEBHOOK_SECRET, event, fake_stripe_api, signed
from tests.support import current_runtime


@pytest.fixture
def stripe_api():
    with fake_stripe_api() as fake:
        yield fake


@pytest.fixture
def billing(configure, stripe_api):
    return configure(
        stripe_secret_key="sk_test_123", stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=stripe_api.url
    )


def post_event(client: TestClient, body: dict, signature: str | None = None):
    payload = json.dumps(body).encode()
    headers = {"stripe-signature": signature or signed(payload), "content-type": "application/json"}
    return client.post("/v1/billing/stripe-webhook", content=payload, headers=headers)


def account_of(user) -> dict:
    return user.get("/v1/account").json()


def assert_ledger_consistent(account_id: str, balance: int) -> None:
    with current_runtime().unit_of_work() as session:
        assert ledger_sum(session, account_id) == balance


def pack_session(account_id: str, pack: str = "pack-200", session_id: str = "cs_test_pack1") -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "client_reference_id": account_id,
        "customer": "cus_x",
        "amount_total": 1800,
        "currency": "usd",
        "payment_intent": "pi_pack1",
        "metadata": {"account_id": account_id, "pack": pack},
    }


def invoice(
    account_id: str, invoice_id: str, reason: str = "subscription_cycle", plan: str = "basic"
) -> dict:
    return {
        "id": invoice_id,
        "object": "invoice",
        "billing_reason": reason,
        "customer": "cus_x",
        "amount_paid": 900,
        "currency": "usd",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": "sub_1",
                "metadata": {"account_id": account_id, "plan": plan},
            },
        },
        "payments": {"data": [{"payment": {"type": "payment_intent", "payment_intent": f"pi_{invoice_id}"}}]},
    }


def test_plans_and_packs_are_listed(billing, client):
    body = client.get("/v1/billing/plans").json()
    assert [p["id"] for p in body["plans"]] == ["basic", "pro"]
    assert all(p["credits_per_period"] > 0 and p["price"]["amount"] > 0 for p in body["plans"])
    assert [p["credits"] for p in body["packs"]] == [50, 200, 1000]


def test_checkout_creates_a_stripe_session_for_the_account(billing, signup, stripe_api):
    user = signup()
    me = account_of(user)
    response = user.post("/v1/billing/checkout", json={"pack": "pack-200"})
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://checkout.stripe.com/")
    [customer] = stripe_api.calls("/v1/customers")
    assert customer["metadata[account_id]"] == me["id"]
    [params] = stripe_api.calls("/v1/checkout/sessions")
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == me["id"]
    assert params["metadata[pack]"] == "pack-200"
    assert params["line_items[0][price_data][unit_amount]"] == "1800"
    auth = next(h for p, _, h in stripe_api.requests if p == "/v1/checkout/sessions")["authorization"]
    assert auth == "Bearer sk_test_123"

    subscribe = user.post("/v1/billing/checkout", json={"plan": "pro"})
    assert subscribe.status_code == 200
    params = stripe_api.calls("/v1/checkout/sessions")[-1]
    assert params["mode"] == "subscription"
    assert params["subscription_data[metadata][plan]"] == "pro"
    assert params["line_items[0][price_data][recurring][interval]"] == "month"
    assert len(stripe_api.calls("/v1/customers")) == 1  # the customer is reused

    portal = user.post("/v1/billing/portal")
    assert portal.status_code == 200 and portal.json()["url"].startswith("https://billing.stripe.com/")
    assert (
        user.post("/v1/billing/checkout", json={"pack": "pack-7"}).json()["error"]["code"]
        == "unknown_product"
    )
    both = user.post("/v1/billing/checkout", json={"pack": "pack-50", "plan": "basic"})
    assert both.status_code == 422


def test_a_pack_is_granted_exactly_once_however_often_delivered(billing, signup, client):
    user = signup()
    me = account_of(user)
    completed = event("checkout.session.completed", pack_session(me["id"]), event_id="evt_pack")
    for _ in range(3):
        assert post_event(client, completed).status_code == 200
    same_session_other_event = event("checkout.session.async_payment_succeeded", pack_session(me["id"]))
    assert post_event(client, same_session_other_event).status_code == 200
    assert account_of(user)["credits_balance"] == 10 + 200
    entries = user.get("/v1/account/ledger").json()["entries"]
    newest = entries[0]
    assert (newest["kind"], newest["amount"], newest["reference"]) == ("pack_purchase", 200, "cs_test_pack1")
    assert_ledger_consistent(me["id"], 210)


def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(billing, signup, client):
    user = signup()
    me = account_of(user)
    body = event("checkout.session.completed", pack_session(me["id"]))
    payload = json.dumps(body).encode()
    for signature in (
        signed(payload, secret="whsec_someone_else"),
        signed(payload, timestamp=1_000_000_000),  # far outside the tolerance window
        "t=1,v1=deadbeef",
        "",
    ):
        response = post_event(client, body, signature or "garbage")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    tampered = client.post(
        "/v1/billing/stripe-webhook",
        content=payload.replace(b"pack-200", b"pack-1000"),
        headers={"stripe-signature": signed(payload)},
    )
    assert tampered.status_code == 400
    assert account_of(user)["credits_balance"] == 10
    assert post_event(client, body).json()["applied"] is True  # the genuine event still applies afterwards


def test_subscription_periods_are_granted_once_each_even_out_of_order(billing, signup, client):
    user = signup()
    me = account_of(user)
    renewal = event("invoice.paid", invoice(me["id"], "in_2"), created=2000)
    first = event("invoice.paid", invoice(me["id"], "in_1", reason="subscription_create"), created=1000)
    subscribed = {
        "id": "cs_sub",
        "mode": "subscription",
        "subscription": "sub_1",
        "client_reference_id": me["id"],
        "customer": "cus_x",
        "payment_status": "paid",
        "metadata": {"account_id": me["id"], "plan": "basic"},
    }
    checkout = event("checkout.session.completed", subscribed, created=900)
    for body in (renewal, first, renewal, checkout, first):  # renewal first; duplicates
        assert post_event(client, body).status_code == 200
    duplicate_invoice = event("invoice.paid", invoice(me["id"], "in_2"))  # another event, same period
    assert post_event(client, duplicate_invoice).status_code == 200
    proration = event("invoice.paid", invoice(me["id"], "in_3", reason="subscription_update"))
    assert post_event(client, proration).status_code == 200
    after = account_of(user)
    assert after["credits_balance"] == 10 + 2 * 100 and after["plan"] == "basic"
    assert_ledger_consistent(me["id"], 210)


def test_plan_changes_and_cancellation_keep_granted_credits(billing, signup, client):
    user = signup()
    me = account_of(user)
    post_event(
        client, event("invoice.paid", invoice(me["id"], "in_1", reason="subscription_create"), created=100)
    )
    subscription = {"id": "sub_1", "object": "subscription", "customer": "cus_x", "status": "active",
                    "metadata": {"account_id": me["id"], "plan": "pro"}}  # fmt: skip
    post_event(client, event("customer.subscription.updated", subscription, created=200))
    assert account_of(user)["plan"] == "pro"
    stale = {**subscription, "metadata": {"account_id": me["id"], "plan": "basic"}}
    post_event(client, event("customer.subscription.updated", stale, created=150))  # older: ignored
    assert account_of(user)["plan"] == "pro"
    post_event(
        client, event("customer.subscription.deleted", {**subscription, "status": "canceled"}, created=300)
    )
    after = account_of(user)
    assert after["plan"] == "free" and after["credits_balance"] == 110


def test_refunds_take_back_unspent_credits_never_below_zero(billing, signup, client):
    user = signup()
    me = account_of(user)
    post_event(client, event("checkout.session.completed", pack_session(me["id"])))
    assert account_of(user)["credits_balance"] == 210
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_pack1",
        "amount": 1800,
        "refunded": False,
    }
    post_event(client, event("charge.refunded", {**charge, "amount_refunded": 900}))  # half
    assert account_of(user)["credits_balance"] == 110
    files = {"file": ("big.png", _png(1200, 1000), "image/png")}  # spend most of the rest
    while account_of(user)["credits_balance"] > 30:
        assert user.post("/v1/jobs", files=files, data={"model": "lanczos", "scale": "8"}).status_code == 202
    left = account_of(user)["credits_balance"]
    post_event(client, event("charge.refunded", {**charge, "amount_refunded": 1800, "refunded": True}))
    assert account_of(user)["credits_balance"] == 0  # took what was left, never negative
    kinds = [e["kind"] for e in user.get("/v1/account/ledger").json()["entries"]]
    assert kinds.count("payment_refund") == 2
    with current_runtime().unit_of_work() as session:
        from app.billing.models import CreditPurchase

        purchase = session.get(CreditPurchase, "cs_test_pack1")
        assert purchase.credits_taken_back == 100 + left and purchase.credits_already_spent == 100 - left
    assert_ledger_consistent(me["id"], 0)


def _png(width: int, height: int) -> bytes:
    from tests.support import png_bytes

    return png_bytes(width, height)


def test_unknown_events_are_acknowledged_and_ignored(billing, client, signup):
    user = signup()
    response = post_event(client, event("customer.tax_id.created", {"id": "txi_1"}))
    assert response.status_code == 200 and response.json() == {"received": True, "applied": True}
    assert account_of(user)["credits_balance"] == 10


def test_without_a_stripe_key_nothing_is_for_sale_and_billing_answers_503(settings, signup, client):
    user = signup()
    plans = client.get("/v1/billing/plans")  # asked by every page load: an empty catalogue, not an error
    assert plans.status_code == 200 and plans.json() == {"plans": [], "packs": []}
    assert user.post("/v1/billing/checkout", json={"pack": "pack-50"}).status_code == 503
    assert client.post("/v1/billing/stripe-webhook", content=b"{}").status_code == 503
    assert user.get("/v1/account").status_code == 200


def test_concurrent_deliveries_of_one_event_grant_once_on_postgres(configure, postgres_url, stripe_api):
    configure(
        database_url=postgres_url,
        stripe_secret_key="sk_test_123",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_api.url,
    )
    app = create_app(get_settings())
    with TestClient(app) as client:
        created = client.post("/v1/accounts", json={"email": "pg@example.com", "password": "correct horse"})
        key = created.json()["api_key"]
        me = client.get("/v1/account", headers={"Authorization": f"Bearer {key}"}).json()
        body = event(
            "checkout.session.completed", pack_session(me["id"], pack="pack-50"), event_id="evt_race"
        )
        results: list[int] = []

        def deliver() -> None:
            results.append(post_event(client, body).status_code)

        threads = [threading.Thread(target=deliver) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [200] * 6
        after = client.get("/v1/account", headers={"Authorization": f"Bearer {key}"}).json()
        assert after["credits_balance"] == 60
        assert_ledger_consistent(me["id"], 60)


def test_a_signed_body_that_is_not_an_event_is_refused(billing, client):
    for payload in (b"[]", b'{"type": "invoice.paid"}', b'{"id": 7, "type": "x"}'):
        response = client.post(
            "/v1/billing/stripe-webhook", content=payload, headers={"stripe-signature": signed(payload)}
        )
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
