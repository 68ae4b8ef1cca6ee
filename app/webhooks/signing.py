"""Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}"))."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def signature_header(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one `v1,<sig>` per secret, space-separated (rotation grace)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), signed, hashlib.sha256).digest()).decode() for s in secrets
    )
