"""Retention and deliveries on their own queue: a long upscale must not hold back the sweep (before: 100-173 s
past retention behind one long job, and nothing swept with no CPU worker alive)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests import support
from tests.e2e.conftest import embedded

pytestmark = pytest.mark.slow
RESULT_TTL = 2


def test_results_expire_on_time_while_a_long_job_runs(tmp_path, http_client_factory):
    with embedded(tmp_path, result_ttl=str(RESULT_TTL), signup_credits="100") as service:
        anonymous = http_client_factory(service.url)
        body = anonymous.post("/v1/accounts", json={"email": "m@example.com", "password": "correct horse"})
        user = http_client_factory(service.url, body.json()["api_key"])
        quick = user.post(
            "/v1/jobs",
            files={"file": ("q.png", support.png_bytes(16, 16), "image/png")},
            data={"model": "bicubic", "scale": "2"},
        ).json()
        done = support.wait_job(user, quick["id"])
        assert done["status"] == "succeeded"
        # Tens of seconds on this machine's CPU: the only job worker is busy for all of it.
        long = user.post(
            "/v1/jobs",
            files={"file": ("l.png", support.png_bytes(192, 192), "image/png")},
            data={"model": "realesrgan-x4plus", "scale": "4"},
        ).json()
        support.wait_job(user, long["id"], until=("running",))
        expired = support.wait_job(user, quick["id"], timeout=60, until=("expired",))
        late = time.time() - datetime.fromisoformat(done["output"]["expires_at"]).timestamp()
        print(f"result deleted {late:.1f} s past its retention (sweep interval 1 s)")
        assert expired["status"] == "expired"
        assert user.get(f"/v1/jobs/{long['id']}").json()["status"] == "running"
        assert late < 5, late
        user.delete(f"/v1/jobs/{long['id']}")
