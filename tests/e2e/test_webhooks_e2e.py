"""Done-when of the webhooks work: a registered endpoint gets `job.succeeded` after a retried 500."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from tests import support
from tests.e2e.conftest import embedded
from tests.webhooks.receiver import running_receiver

pytestmark = pytest.mark.slow


def test_endpoint_receives_job_succeeded_after_a_500_was_retried(tmp_path, models_dir, http_client_factory):
    port = support.free_port()
    with (
        running_receiver() as receiver,
        embedded(
            tmp_path,
            port,
            models_dir=str(models_dir),
            webhook_allow_private="true",
            webhook_retry_schedule="0,1,1",
            api_url=f"http://127.0.0.1:{port}",
        ) as service,
    ):
        anonymous = http_client_factory(service.url)
        key = anonymous.post("/v1/accounts", json={"email": "hooks@example.com", "password": "correct horse"})
        user = http_client_factory(service.url, key.json()["api_key"])
        endpoint = user.post("/v1/webhook-endpoints", json={"url": receiver.url, "events": ["job.succeeded"]})
        assert endpoint.status_code == 201, endpoint.text
        receiver.answer(500)

        files = {"file": ("photo.png", support.png_bytes(20, 16), "image/png")}
        job = user.post("/v1/jobs", files=files, data={"model": "bicubic", "scale": "2"}).json()
        assert support.wait_job(user, job["id"])["status"] == "succeeded"
        first, second = receiver.wait_for(2)

        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        payload = Webhook(endpoint.json()["secret"]).verify(second.body, second.headers)
        assert payload["type"] == "job.succeeded"
        assert payload["data"] == user.get(f"/v1/jobs/{job['id']}").json()
        assert json.loads(second.body) == payload
        delivery = support.wait_delivery(user, endpoint.json()["id"])
        assert delivery["status"] == "succeeded"
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 200]
