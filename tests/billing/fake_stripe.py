"""A local HTTP server playing the few Stripe API endpoints billing calls, and Stripe's event signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

WEBHOOK_SECRET = "whsec_test_secret_for_billing_tests"


@dataclass
class FakeStripe:
    url: str = ""
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    def calls(self, path: str) -> list[dict[str, str]]:
        return [params for p, params, _ in self.requests if p == path]


def _answer(path: str, params: dict[str, str]) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:14]
    if path == "/v1/customers":
        return {"id": f"cus_{suffix}", "object": "customer", "email": params.get("email"), "metadata": {}}
    if path == "/v1/checkout/sessions":
        return {
            "id": f"cs_test_{suffix}",
            "object": "checkout.session",
            "mode": params.get("mode"),
            "url": f"https://checkout.stripe.com/c/pay/cs_test_{suffix}",
        }
    if path == "/v1/billing_portal/sessions":
        return {
            "id": f"bps_{suffix}",
            "object": "billing_portal.session",
            "url": f"https://billing.stripe.com/p/session/{suffix}",
        }
    raise KeyError(path)


@contextmanager
def fake_stripe_api() -> Iterator[FakeStripe]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            params = dict(parse_qsl(body))
            fake.requests.append((self.path, params, {k.lower(): v for k, v in self.headers.items()}))
            try:
                status, answer = 200, _answer(self.path, params)
            except KeyError:
                status, answer = 404, {"error": {"type": "invalid_request_error", "message": "no such route"}}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def event(
    kind: str, obj: dict[str, Any], event_id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": kind,
        "created": created or int(time.time()),
        "livemode": False,
        "api_version": "2025-10-29.clover",
        "data": {"object": obj},
    }


def signed(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header, as Stripe documents computing it."""
    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
