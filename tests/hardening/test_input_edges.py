"""Odd values a probe sent that answered 500: NUL bytes, far-off cursor dates, forged-but-signed file links,
Stripe events of an unexpected shape, empty URL credentials. Each must be a 4xx (or, for Stripe, 200-ignored).
"""

from __future__ import annotations

import base64
import time

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import create_app
from app.storage.signed_urls import SignedObject, sign, signing_key
from tests.billing.fake_stripe import WEBHOOK_SECRET, event, fake_stripe_api
from tests.billing.test_billing import post_event

PASSWORD = "correct horse"


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, configure):
    if request.param == "sqlite":
        return configure()
    return configure(database_url=request.getfixturevalue("postgres_url"))


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_nul_bytes_and_extreme_cursors_are_client_errors(database, signup):
    user = signup()
    for method, path, body in (
        ("GET", "/v1/jobs/abc%00def", None),
        ("DELETE", "/v1/jobs/abc%00def", None),
        ("DELETE", "/v1/api-keys/key%00", None),
        ("GET", "/v1/webhook-endpoints/e%00/deliveries", None),
        ("POST", "/v1/api-keys", {"name": "laptop\x00"}),
        ("GET", f"/v1/jobs?cursor={_cursor('2026-01-01T00:00:00+00:00|x' + chr(0))}", None),
        ("GET", f"/v1/jobs?cursor={_cursor('9999-12-31T23:59:59-14:00|x')}", None),
        ("GET", f"/v1/jobs?cursor={_cursor('0001-01-01T00:00:00+14:00|x')}", None),
    ):
        response = user.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert response.json()["error"]["code"]
    with TestClient(create_app(get_settings())) as anonymous:
        for email in ("nul\x00@example.com", "a@exam\x00ple.com"):
            response = anonymous.post("/v1/accounts", json={"email": email, "password": PASSWORD})
            assert response.status_code == 422, response.text
    bad_upload = user.post("/v1/jobs", data={"upload_id": "u\x00", "model": "bicubic", "scale": "2"})
    assert 400 <= bad_upload.status_code < 500, bad_upload.text


def test_a_signed_link_to_a_path_outside_storage_is_a_404(settings, client):
    expires = int(time.time()) + 60
    for key in ("../../etc/passwd", "/etc/passwd", "inputs/../../secret_key"):
        token = sign(signing_key(settings), SignedObject(key, "x.png", "image/png", expires))
        response = client.get(f"/v1/files/{token}")
        assert response.status_code == 404, (key, response.text)


def _odd_events(account_id: str) -> list[dict]:
    paid = {"id": "cs_odd", "mode": "payment", "payment_status": "paid", "client_reference_id": account_id}
    return [
        event("checkout.session.completed", "not an object"),  # type: ignore[arg-type]
        {**event("checkout.session.completed", paid), "created": "soon"},
        event("checkout.session.completed", {**paid, "metadata": "not a dict", "client_reference_id": 7}),
        event("checkout.session.completed", {**paid, "metadata": {"pack": ["pack-50"]}, "amount_total": "x"}),
        event("invoice.paid", {"billing_reason": "subscription_cycle", "lines": {"data": "x"}, "parent": 3}),
        event("charge.refunded", {"payment_intent": {"id": "pi"}, "amount_refunded": "all"}),
    ]


def test_signed_stripe_events_of_an_unexpected_shape_are_never_a_500(configure):
    with fake_stripe_api() as stripe:
        configure(
            stripe_secret_key="sk_test_1", stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=stripe.url
        )
        with TestClient(create_app(get_settings())) as app:
            created = app.post("/v1/accounts", json={"email": "s@example.com", "password": PASSWORD}).json()
            for odd in _odd_events(created["id"]):
                response = post_event(app, odd)
                assert response.status_code == 200, (odd, response.text)
                assert response.json()["received"] is True
            headers = {"Authorization": f"Bearer {created['api_key']}"}
            assert app.get("/v1/account", headers=headers).json()["credits_balance"] == 10
            odd_type = {**event("checkout.session.completed", {}), "type": ["x"]}
            assert post_event(app, odd_type).status_code == 400


def test_webhook_urls_with_any_userinfo_are_refused(configure, signup):
    configure(webhook_allow_private="true")
    user = signup()
    for url in (
        "http://:@93.184.215.14/",
        "http://u:p@93.184.215.14/",
        "http://@93.184.215.14/",
        "http://x\x00y/",
    ):
        response = user.post("/v1/webhook-endpoints", json={"url": url, "events": ["job.succeeded"]})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["error"]["code"] == "webhook_url_not_allowed"


def test_redelivery_has_a_cooldown_per_message_and_a_quota_per_account(configure, signup):
    from tests.webhooks.test_delivery import _finished_job, _messages, _register

    configure(webhook_allow_private="true", webhook_redeliveries_per_hour="3")
    user = signup()
    endpoint = _register(user, "http://127.0.0.1:9/hook")
    for _ in range(4):
        _finished_job(user)
    deliveries = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"
    ids = [m.id for m in _messages("job.succeeded")]
    assert user.post(f"{deliveries}/{ids[0]}/redeliver").status_code == 202
    again = user.post(f"{deliveries}/{ids[0]}/redeliver")
    assert again.status_code == 429 and again.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(again.headers["retry-after"]) <= 60
    assert user.post(f"{deliveries}/{ids[1]}/redeliver").status_code == 202
    assert user.post(f"{deliveries}/{ids[2]}/redeliver").status_code == 202
    over = user.post(f"{deliveries}/{ids[3]}/redeliver")  # the fourth this hour
    assert over.status_code == 429, over.text
