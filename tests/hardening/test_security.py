"""Security: isolation between accounts, hashed secrets, rate limits, login throttling, headers, CORS."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts.models import Account, ApiKey
from app.config import get_settings
from app.main import create_app
from tests.support import current_runtime, one_window, png_bytes

PASSWORD = "correct horse"


def _submit(user: TestClient):
    files = {"file": ("in.png", png_bytes(16, 16), "image/png")}
    return user.post("/v1/jobs", files=files, data={"model": "bicubic", "scale": "2"})


def _assert_rate_limited(response, code: str = "rate_limited") -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    assert 1 <= int(response.headers["retry-after"]) <= 3600


def test_another_accounts_things_are_404s(signup, settings):
    alice, mallory = signup(), signup()
    job = _submit(alice).json()
    alice_key = alice.post("/v1/api-keys", json={"name": "laptop"}).json()
    for method, path in (
        ("GET", f"/v1/jobs/{job['id']}"),
        ("GET", f"/v1/jobs/{job['id']}/result"),
        ("DELETE", f"/v1/jobs/{job['id']}"),
        ("DELETE", f"/v1/api-keys/{alice_key['id']}"),
    ):
        response = mallory.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
    assert mallory.get("/v1/jobs").json()["jobs"] == []
    # Mallory's ledger holds her own sign-up grant and nothing of Alice's job.
    entries = mallory.get("/v1/account/ledger").json()["entries"]
    assert [(e["kind"], e["amount"], e["job_id"]) for e in entries] == [("signup_grant", 10, None)]
    assert alice.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"  # untouched


def test_passwords_and_api_keys_are_stored_only_hashed(client, settings):
    created = client.post("/v1/accounts", json={"email": "h@example.com", "password": PASSWORD}).json()
    with current_runtime().unit_of_work() as session:
        account = session.execute(select(Account)).scalar_one()
        keys = session.execute(select(ApiKey)).scalars().all()
        assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
        for key in keys:
            stored = " ".join(str(value) for value in vars(key).values())
            assert created["api_key"] not in stored


def test_secrets_never_reach_the_logs(client, settings, caplog):
    caplog.set_level(logging.DEBUG)
    created = client.post("/v1/accounts", json={"email": "l@example.com", "password": PASSWORD}).json()
    client.post("/v1/sessions", json={"email": "l@example.com", "password": PASSWORD})
    client.post("/v1/sessions", json={"email": "l@example.com", "password": "wrong password"})
    client.get("/v1/account", headers={"Authorization": f"Bearer {created['api_key']}"})
    # Every one of those requests was logged (so the check below looks at real lines), without a secret.
    routes = [getattr(r, "route", None) for r in caplog.records if r.name == "mindrender.access"]
    assert routes.count("/v1/sessions") == 2 and "/v1/accounts" in routes and "/v1/account" in routes
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert created["api_key"] not in text and PASSWORD not in text and "wrong password" not in text


def test_cors_is_closed_and_safe_headers_are_set(client):
    preflight = client.options(
        "/v1/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = client.get("/v1/models", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_requests_per_address_are_limited_but_probes_are_not(configure):
    one_window(60)
    with TestClient(create_app(configure(rate_limit_per_ip="5"))) as client:
        for _ in range(5):
            assert client.get("/v1/models").status_code == 200
        _assert_rate_limited(client.get("/v1/models"))
        assert client.get("/healthz").status_code == 200


def test_requests_per_account_are_limited_per_account(configure, signup):
    configure(rate_limit_per_account="3")
    one_window(60)
    busy, other = signup(), signup()
    for _ in range(3):
        assert busy.get("/v1/account").status_code == 200
    _assert_rate_limited(busy.get("/v1/account"))
    assert other.get("/v1/account").status_code == 200


@pytest.fixture(params=["memory", "redis"])
def counters_url(request) -> str:
    return "" if request.param == "memory" else request.getfixturevalue("redis_url")


def test_job_submissions_are_limited_across_api_replicas(configure, counters_url):
    configure(job_submissions_per_minute="2", **({"rate_limit_url": counters_url} if counters_url else {}))
    one_window(60)
    settings = get_settings()
    with TestClient(create_app(settings)) as replica_a, TestClient(create_app(settings)) as replica_b:
        key = replica_a.post("/v1/accounts", json={"email": "r@example.com", "password": PASSWORD}).json()
        for replica in (replica_a, replica_b):
            replica.headers["Authorization"] = f"Bearer {key['api_key']}"
        assert _submit(replica_a).status_code == 202
        assert _submit(replica_b).status_code == 202
        third = _submit(replica_a)
        if counters_url:  # shared counters: replica A sees the submission made through B
            _assert_rate_limited(third)
        else:  # in memory, each process counts its own
            assert third.status_code == 202
        charged = 2 if counters_url else 3
        assert replica_a.get("/v1/account").json()["credits_balance"] == 10 - charged


def test_failed_logins_are_throttled_per_email(configure):
    configure(login_failures_per_15_minutes="3")
    one_window(15 * 60, needed=30)
    with TestClient(create_app(get_settings())) as app:
        for email in ("a@example.com", "b@example.com"):
            assert app.post("/v1/accounts", json={"email": email, "password": PASSWORD}).status_code == 201
        for _ in range(3):
            assert (
                app.post(
                    "/v1/sessions", json={"email": "a@example.com", "password": "wrong horse"}
                ).status_code
                == 401
            )
        _assert_rate_limited(
            app.post("/v1/sessions", json={"email": "a@example.com", "password": PASSWORD}), "login_throttled"
        )
        assert (
            app.post("/v1/sessions", json={"email": "b@example.com", "password": PASSWORD}).status_code == 200
        )


def test_signups_are_throttled_and_free_credits_are_not_farmable(configure):
    one_window(60 * 60, 24 * 60 * 60, needed=30)
    with TestClient(
        create_app(configure(signups_per_ip_per_hour="3", signup_credit_grants_per_ip_per_day="1"))
    ) as app:
        first = app.post("/v1/accounts", json={"email": "f1@example.com", "password": PASSWORD}).json()
        second = app.post("/v1/accounts", json={"email": "f2@example.com", "password": PASSWORD}).json()
        balances = [
            app.get("/v1/account", headers={"Authorization": f"Bearer {k['api_key']}"}).json()[
                "credits_balance"
            ]
            for k in (first, second)
        ]
        assert balances == [10, 0]
        assert (
            app.post("/v1/accounts", json={"email": "f3@example.com", "password": PASSWORD}).status_code
            == 201
        )
        _assert_rate_limited(app.post("/v1/accounts", json={"email": "f4@example.com", "password": PASSWORD}))
