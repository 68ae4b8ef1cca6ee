"""Registering webhook endpoints: the SSRF guard, event types, isolation between accounts."""

from __future__ import annotations

import pytest

from tests.support import png_bytes

REFUSED = [
    "http://127.0.0.1/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://localhost:8000/hook",  # a name that resolves to a loopback address
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "http://user:secret@example.com/hook",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_and_non_http_urls_are_refused(signup, settings, url):
    user = signup()
    response = user.post("/v1/webhook-endpoints", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "webhook_url_not_allowed"
    assert user.get("/v1/webhook-endpoints").json() == []


def test_a_jobs_webhook_url_is_checked_before_any_charge(signup, settings):
    user = signup()
    files = {"file": ("in.png", png_bytes(), "image/png")}
    data = {"model": "bicubic", "scale": "2", "webhook_url": "http://169.254.169.254/"}
    response = user.post("/v1/jobs", files=files, data=data)
    assert response.status_code == 422 and response.json()["error"]["code"] == "webhook_url_not_allowed"
    assert user.get("/v1/account").json()["credits_balance"] == 10


def test_unknown_events_are_refused(configure, signup):
    configure(webhook_allow_private="true")
    user = signup()
    response = user.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/x", "events": ["job.won"]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_event_type"


def test_list_delete_and_isolation(configure, signup):
    configure(webhook_allow_private="true")
    alice, mallory = signup(), signup()
    created = alice.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/x", "events": ["job.failed"]}
    ).json()
    assert [e["events"] for e in alice.get("/v1/webhook-endpoints").json()] == [["job.failed"]]
    assert "secret" not in alice.get("/v1/webhook-endpoints").json()[0]
    for method, path in (
        ("DELETE", f"/v1/webhook-endpoints/{created['id']}"),
        ("POST", f"/v1/webhook-endpoints/{created['id']}/rotate-secret"),
        ("GET", f"/v1/webhook-endpoints/{created['id']}/deliveries"),
    ):
        assert mallory.request(method, path).status_code == 404
    assert mallory.get("/v1/webhook-endpoints").json() == []
    assert alice.delete(f"/v1/webhook-endpoints/{created['id']}").status_code == 204
    assert alice.get("/v1/webhook-endpoints").json() == []


@pytest.fixture(params=["memory", "redis"])
def shared_counters(request, configure):
    """One API process counting in memory, or replicas sharing Redis: B's requests meet A's counts."""
    url = "" if request.param == "memory" else request.getfixturevalue("redis_url")
    return configure(webhook_allow_private="true", **({"rate_limit_url": url} if url else {}))


def test_another_accounts_message_is_a_404_that_leaves_its_cooldown_alone(shared_counters, signup):
    from tests.webhooks.test_delivery import _finished_job, _messages, _register

    alice = signup()
    created = alice.post("/v1/accounts", json={"email": "mallory@example.com", "password": "correct horse"})
    mallory = {"Authorization": f"Bearer {created.json()['api_key']}"}  # on the same process as alice
    alice_endpoint = _register(alice, "http://127.0.0.1:9/hook")
    mallory_endpoint = alice.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/other"}, headers=mallory
    ).json()
    _finished_job(alice)
    [message] = _messages("job.succeeded")
    for endpoint in (alice_endpoint, mallory_endpoint):
        stolen = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{message.id}/redeliver"
        for _ in range(3):
            response = alice.post(stolen, headers=mallory)
            assert response.status_code == 404, response.text
    [untouched] = _messages("job.succeeded")
    assert (untouched.status, untouched.max_attempts) == (message.status, message.max_attempts)
    mine = alice.post(f"/v1/webhook-endpoints/{alice_endpoint['id']}/deliveries/{message.id}/redeliver")
    assert mine.status_code == 202, mine.text  # mallory's tries used none of alice's once-a-minute
