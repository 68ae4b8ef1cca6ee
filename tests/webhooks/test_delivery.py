"""Webhook delivery through the real outbox and delivery code to a real HTTP receiver on loopback.

Signatures are verified with the `standardwebhooks` package, never with our own signing code.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.config import get_settings
from app.db import utcnow
from app.jobs.processing import run_job
from app.webhooks.delivery import deliver
from app.webhooks.models import WebhookMessage
from tests.support import current_runtime, png_bytes
from tests.webhooks.receiver import Received, running_receiver


@pytest.fixture
def receiver():
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def hook_settings(configure):
    return configure(
        webhook_allow_private="true", webhook_retry_schedule="0,0,0", api_url="http://testserver"
    )


def _register(user, url: str, events: list[str] | None = None) -> dict:
    body = {"url": url, **({"events": events} if events else {})}
    response = user.post("/v1/webhook-endpoints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _finished_job(user, **fields) -> dict:
    files = {"file": ("in.png", png_bytes(12, 10), "image/png")}
    job = user.post("/v1/jobs", files=files, data={"model": "bicubic", "scale": "2", **fields}).json()
    run_job(current_runtime(), job["id"])
    return job


def _messages(event_type: str | None = None) -> list[WebhookMessage]:
    with current_runtime().unit_of_work() as session:
        query = select(WebhookMessage).order_by(WebhookMessage.created_at)
        if event_type:
            query = query.where(WebhookMessage.event_type == event_type)
        messages = list(session.execute(query).scalars())
        session.expunge_all()
        return messages


def _deliver(message_id: str, settings=None) -> None:
    runtime = current_runtime()
    deliver(dataclasses.replace(runtime, settings=settings) if settings else runtime, message_id)


def _verified(secret: str, received: Received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_job_succeeded_is_signed_and_carries_the_job(hook_settings, signup, receiver):
    user = signup()
    endpoint = _register(user, receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    job = _finished_job(user)
    [message] = _messages("job.succeeded")
    _deliver(message.id)
    [received] = receiver.wait_for(1)
    payload = _verified(endpoint["secret"], received)
    assert received.headers["webhook-id"] == message.id
    assert payload["type"] == "job.succeeded"
    assert payload["data"] == user.get(f"/v1/jobs/{job['id']}").json()


def test_a_failed_attempt_is_retried_with_the_same_id(hook_settings, signup, receiver):
    user = signup()
    endpoint = _register(user, receiver.url)
    _finished_job(user)
    [message] = _messages()
    receiver.answer(500)
    _deliver(message.id)
    _deliver(message.id)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message.id
    assert _verified(endpoint["secret"], second)["type"] == "job.succeeded"
    [delivery] = user.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 200]
    _deliver(message.id)  # a duplicate task finds nothing due
    assert len(receiver.received) == 2
    metrics = user.get("/metrics").text
    finished = 'mindrender_webhook_messages_finished_total{event="job.succeeded",status="succeeded"} 1.0'
    assert finished in metrics
    assert 'mindrender_webhook_attempts_total{outcome="http_error"} 1.0' in metrics
    assert 'mindrender_webhook_attempts_total{outcome="success"} 1.0' in metrics


def test_after_the_schedule_the_delivery_is_marked_failed(hook_settings, signup, receiver):
    user = signup()
    endpoint = _register(user, receiver.url)
    _finished_job(user)
    [message] = _messages()
    receiver.answer(500, 503, 500)
    for _ in range(5):
        _deliver(message.id)
    assert len(receiver.received) == 3  # the schedule has three attempts
    [delivery] = user.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()
    assert delivery["status"] == "failed" and delivery["attempts"] == 3
    failing = user.get("/v1/webhook-endpoints").json()[0]
    assert failing["failing_since"] is not None and failing["disabled_at"] is None

    redelivered = user.post(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{message.id}/redeliver")
    assert redelivered.status_code == 202
    _deliver(message.id)
    assert receiver.received[-1].headers["webhook-id"] == message.id
    assert user.get("/v1/webhook-endpoints").json()[0]["failing_since"] is None


def test_410_disables_the_endpoint(hook_settings, signup, receiver):
    user = signup()
    _register(user, receiver.url)
    _finished_job(user)
    receiver.answer(410)
    _deliver(_messages()[0].id)
    [endpoint] = user.get("/v1/webhook-endpoints").json()
    assert endpoint["disabled_at"] is not None and "410" in endpoint["disabled_reason"]
    _finished_job(user)
    assert len(_messages()) == 1  # a disabled endpoint is owed nothing more


def test_redirects_are_failures_and_never_followed(hook_settings, signup, receiver):
    user = signup()
    _register(user, receiver.url)
    _finished_job(user)
    receiver.answer((302, {"location": receiver.url + "/elsewhere"}))
    _deliver(_messages()[0].id)
    assert [r.path for r in receiver.received] == ["/hooks"]
    [message] = _messages()
    assert message.status == "pending" and message.attempts == 1


def test_retry_after_is_honoured(hook_settings, signup, receiver):
    user = signup()
    _register(user, receiver.url)
    _finished_job(user)
    receiver.answer((429, {"retry-after": "120"}))
    _deliver(_messages()[0].id)
    [message] = _messages()
    wait = message.next_attempt_at - utcnow()
    assert timedelta(seconds=110) < wait <= timedelta(seconds=120)
    _deliver(message.id)  # not due yet
    assert len(receiver.received) == 1


def test_the_address_is_checked_again_at_send_time(hook_settings, signup, receiver):
    user = signup()
    _register(user, receiver.url)  # allowed while private addresses are (development)
    _finished_job(user)
    strict = get_settings().model_copy(update={"webhook_allow_private": False})
    _deliver(_messages()[0].id, strict)
    assert receiver.received == []
    [delivery] = user.get(
        f"/v1/webhook-endpoints/{user.get('/v1/webhook-endpoints').json()[0]['id']}/deliveries"
    ).json()
    assert delivery["attempt_log"][0]["error"] == "address_not_allowed"


def test_a_jobs_own_webhook_url_is_signed_with_the_account_secret(hook_settings, signup, receiver):
    user = signup()
    job = _finished_job(user, webhook_url=receiver.url)
    _deliver(_messages()[0].id)
    secret = user.get("/v1/account/webhook-secret").json()["secret"]
    payload = _verified(secret, receiver.wait_for(1)[0])
    assert payload["data"]["id"] == job["id"] and payload["data"]["status"] == "succeeded"


def test_failed_and_expired_jobs_and_low_credits_are_announced(hook_settings, signup, receiver):
    user = signup()
    _register(user, receiver.url)
    assert user.patch("/v1/account", json={"credits_low_threshold": 10}).json()["credits_low_threshold"] == 10
    files = {"file": ("in.png", png_bytes(12, 10), "image/png")}
    broken = user.post("/v1/jobs", files=files, data={"model": "bicubic", "scale": "2"}).json()
    current_runtime().storage.delete(f"inputs/{broken['id']}")
    run_job(current_runtime(), broken["id"])
    done = _finished_job(user)
    assert user.delete(f"/v1/jobs/{done['id']}").json()["status"] == "expired"
    kinds = [m.event_type for m in _messages()]
    # The failed job's refund lifted the balance back over the threshold, so the next charge crosses again.
    assert kinds == ["credits.low", "job.failed", "credits.low", "job.succeeded", "job.expired"]
    for message in _messages():
        _deliver(message.id)
    payloads = [json.loads(r.body) for r in receiver.wait_for(5)]
    low = next(p for p in payloads if p["type"] == "credits.low")
    assert low["data"] == {"account_id": low["data"]["account_id"], "credits_balance": 9, "threshold": 10}
    failed = next(p for p in payloads if p["type"] == "job.failed")
    assert failed["data"]["error"]["code"] == "input_missing" and failed["data"]["credits_refunded"] == 1


def test_a_rotated_secret_and_the_old_one_both_verify(hook_settings, signup, receiver):
    user = signup()
    endpoint = _register(user, receiver.url)
    rotated = user.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").json()
    assert rotated["secret"] != endpoint["secret"]
    _finished_job(user)
    _deliver(_messages()[0].id)
    received = receiver.wait_for(1)[0]
    assert len(received.headers["webhook-signature"].split()) == 2
    assert _verified(rotated["secret"], received)["type"] == "job.succeeded"
    assert _verified(endpoint["secret"], received)["type"] == "job.succeeded"


def test_delivery_on_postgres(configure, postgres_url, signup, receiver):
    configure(database_url=postgres_url, webhook_allow_private="true", webhook_retry_schedule="0,0")
    user = signup()
    endpoint = _register(user, receiver.url)
    _finished_job(user)
    [message] = _messages()
    receiver.answer(500)
    _deliver(message.id)
    _deliver(message.id)
    assert _verified(endpoint["secret"], receiver.wait_for(2)[1])["type"] == "job.succeeded"
    assert _messages()[0].status == "succeeded"
