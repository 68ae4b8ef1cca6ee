"""Password hashing (argon2) and opaque tokens (API keys, session ids) stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "mr_"
_hasher = PasswordHasher()
# Verifying against this keeps login timing the same whether or not the email exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy token: enough for random keys, and lets lookups use an index."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A new API key and its visible prefix (shown in listings so users can tell keys apart)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:11]


def new_session_token() -> str:
    return secrets.token_urlsafe(32)
