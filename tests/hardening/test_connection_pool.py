"""No request holds a pooled database connection while it waits for another.

A request's unit of work reads the caller's API key first. If it kept that connection while opening a unit
of its own (the key's last-used touch, an Idempotency-Key's claim) or while asking Redis for its rate
limit, a burst of requests with more threads than pooled connections would leave every connection held by
a request waiting for a second one: nothing moves until the pool's timeout answers them 500 (one cause
of the stall that tests/hardening/test_broker_outage.py met in CI, 45 submissions against a pool of 30
while Redis was frozen). With a pool of one connection, any such nesting waits on itself, so these
requests pass only if each connection is given back first.
"""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

import app.db

pytestmark = pytest.mark.integration


@pytest.fixture
def one_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    real = app.db.create_engine

    def engine(url: str, **options: object) -> object:
        return real(url, **{**options, "pool_size": 1, "max_overflow": 0, "pool_timeout": 3})

    monkeypatch.setattr(app.db, "create_engine", engine)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def test_authenticated_requests_need_one_connection_at_a_time(one_connection, configure, postgres_url):
    from app.main import create_app

    settings = configure(database_url=postgres_url)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        created = client.post("/v1/accounts", json={"email": "pool@example.com", "password": "correct horse"})
        assert created.status_code == 201, created.text
        client.cookies.clear()
        auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
        # A key never used: its last-used time is written in a unit of its own.
        account = client.get("/v1/account", headers=auth)
        assert account.status_code == 200, account.text
        # An Idempotency-Key is claimed in a unit of its own, before the submission's unit writes.
        files = {"file": ("a.png", png(), "image/png")}
        form = {"model": "bicubic", "scale": "2"}
        first = client.post("/v1/jobs", files=files, data=form, headers={**auth, "Idempotency-Key": "one"})
        assert first.status_code == 202, first.text
        again = client.post("/v1/jobs", files=files, data=form, headers={**auth, "Idempotency-Key": "one"})
        assert again.status_code == 202 and again.json()["id"] == first.json()["id"], again.text
        # A refused submission gives its claimed key back in a unit of its own, after its unit rolled back.
        bad = {"file": ("b.png", b"not an image", "image/png")}
        refused = client.post("/v1/jobs", files=bad, data=form, headers={**auth, "Idempotency-Key": "two"})
        assert refused.status_code == 415, refused.text
        retried = client.post("/v1/jobs", files=files, data=form, headers={**auth, "Idempotency-Key": "two"})
        assert retried.status_code == 202, retried.text
        keys = client.get("/v1/api-keys", headers=auth).json()
        assert keys[0]["last_used_at"] is not None
