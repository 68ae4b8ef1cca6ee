"""Signed, expiring download tokens for local-disk storage: the same contract as S3 presigned URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.config import Settings


@dataclass(frozen=True)
class SignedObject:
    key: str
    filename: str
    content_type: str
    expires: int


def signing_key(settings: Settings) -> bytes:
    """MR_SECRET_KEY, or a random key kept under the data dir (single-machine deployments)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    return _key_file(settings.data_dir / "secret_key")


@lru_cache
def _key_file(path: Path) -> bytes:
    """Read (creating once) the key file; cached so a download link costs no disk read."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _mac(key: bytes, body: str) -> str:
    return (
        base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    )


def sign(key: bytes, obj: SignedObject) -> str:
    body = base64.urlsafe_b64encode(
        json.dumps([obj.key, obj.filename, obj.content_type, obj.expires]).encode()
    ).decode()
    return f"{body}.{_mac(key, body)}"


def verify(key: bytes, token: str, now: float | None = None) -> SignedObject | None:
    """The object a token names, or None when it is forged, malformed or expired."""
    body, _, mac = token.partition(".")
    if not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
        return None
    try:
        stored, filename, content_type, expires = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, TypeError):
        return None
    if int(expires) < (now if now is not None else time.time()):
        return None
    return SignedObject(str(stored), str(filename), str(content_type), int(expires))
