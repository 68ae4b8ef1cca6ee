"""Schemathesis against /openapi.json: no request it can make gets a 5xx, and responses match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from app.main import create_app
from tests.billing.fake_stripe import WEBHOOK_SECRET, fake_stripe_api

pytestmark = pytest.mark.slow
# What the contract promises for any request, valid or not. (Schemathesis' positive/negative-data checks
# are left out: an image field is "a binary string" to OpenAPI, and most binary strings are not images.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def fuzz_settings(configure):
    with fake_stripe_api() as stripe_api:
        yield configure(
            rate_limit_per_ip="0",
            rate_limit_per_account="0",
            job_submissions_per_minute="0",
            # Billing on (off, it answers 503 by design), against a local stand-in for Stripe's API.
            stripe_secret_key="sk_test_fuzz",
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=stripe_api.url,
        )


def test_no_5xx_and_responses_match_the_schema(fuzz_settings):
    app = create_app(fuzz_settings)
    with TestClient(app) as client:
        created = client.post("/v1/accounts", json={"email": "fuzz@example.com", "password": "correct horse"})
    headers = {"Authorization": f"Bearer {created.json()['api_key']}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        exercise()
