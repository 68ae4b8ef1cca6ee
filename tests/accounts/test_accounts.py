"""Sign-up, API keys and browser sessions, over the HTTP API."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Account, ApiKey
from tests.support import current_runtime


def test_signup_grants_free_credits_and_a_working_key(client, settings):
    response = client.post("/v1/accounts", json={"email": "Ada@Example.com", "password": "correct horse"})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["api_key"].startswith("mr_")

    me = client.get("/v1/account", headers={"Authorization": f"Bearer {body['api_key']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": body["id"],
        "email": "ada@example.com",
        "plan": "free",
        "credits_balance": 10,
        "credits_low_threshold": None,
    }

    ledger = client.get("/v1/account/ledger", headers={"Authorization": f"Bearer {body['api_key']}"}).json()
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [("signup_grant", 10)]


def test_secrets_are_stored_only_as_hashes(client):
    body = client.post("/v1/accounts", json={"email": "h@example.com", "password": "correct horse"}).json()
    with current_runtime().unit_of_work() as session:
        account = session.execute(select(Account)).scalar_one()
        key = session.execute(select(ApiKey)).scalar_one()
    assert "correct horse" not in account.password_hash and account.password_hash.startswith("$argon2")
    assert body["api_key"] not in key.key_hash
    assert body["api_key"].startswith(key.prefix)


def test_duplicate_email_is_a_409_and_grants_nothing_twice(client):
    first = client.post("/v1/accounts", json={"email": "dup@example.com", "password": "correct horse"})
    second = client.post("/v1/accounts", json={"email": "DUP@example.com", "password": "another one"})
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "email_taken"


def test_bad_signup_input_is_a_422_error_object(client):
    response = client.post("/v1/accounts", json={"email": "not-an-email", "password": "short"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_missing_or_wrong_key_is_401(client):
    assert client.get("/v1/account").status_code == 401
    response = client.get("/v1/account", headers={"Authorization": "Bearer mr_wrong"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_api_keys_create_list_revoke(signup):
    user = signup()
    created = user.post("/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    new_key = created.json()["key"]
    listed = user.get("/v1/api-keys").json()
    assert {k["name"] for k in listed} == {"default", "ci"}
    assert all("key" not in k for k in listed)

    assert user.delete(f"/v1/api-keys/{created.json()['id']}").status_code == 204
    assert user.get("/v1/account", headers={"Authorization": f"Bearer {new_key}"}).status_code == 401
    assert user.delete(f"/v1/api-keys/{created.json()['id']}").status_code == 404


def test_another_accounts_key_cannot_be_revoked(signup):
    alice, bob = signup(), signup()
    bob_key_id = bob.get("/v1/api-keys").json()[0]["id"]
    assert alice.delete(f"/v1/api-keys/{bob_key_id}").status_code == 404
    assert bob.get("/v1/account").status_code == 200


def test_browser_session_login_logout_and_csrf(client):
    client.post("/v1/accounts", json={"email": "web@example.com", "password": "correct horse"})
    assert (
        client.post("/v1/sessions", json={"email": "web@example.com", "password": "wrong pass"}).status_code
        == 401
    )
    login = client.post("/v1/sessions", json={"email": "web@example.com", "password": "correct horse"})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/v1/account").json()["email"] == "web@example.com"

    # A cookie-authenticated write from another site is refused; from our own origin it works.
    cross = client.post("/v1/api-keys", json={"name": "x"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    same = client.post("/v1/api-keys", json={"name": "x"}, headers={"Origin": "http://testserver"})
    assert same.status_code == 201

    assert client.delete("/v1/sessions").status_code == 204
    assert client.get("/v1/account").status_code == 401


def test_api_keys_show_when_they_were_last_used(signup):
    user = signup()
    created = user.post("/v1/api-keys", json={"name": "ci"}).json()
    unused = {k["id"]: k["last_used_at"] for k in user.get("/v1/api-keys").json()}
    assert unused[created["id"]] is None
    user.get("/v1/account", headers={"Authorization": f"Bearer {created['key']}"})
    used = {k["id"]: k["last_used_at"] for k in user.get("/v1/api-keys").json()}
    assert used[created["id"]] is not None
