"""Account operations: sign-up, login sessions, API keys, and resolving credentials to an account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.errors import EmailTaken, InvalidLogin
from app.accounts.models import Account, ApiKey, BrowserSession
from app.accounts.secrets import (
    hash_password,
    hash_token,
    new_api_key,
    new_session_token,
    verify_password,
)
from app.credits.models import EntryKind
from app.credits.service import grant_credits
from app.db import utcnow


@dataclass(frozen=True)
class NewAccount:
    account: Account
    api_key: str


def sign_up(session: Session, email: str, password: str, signup_credits: int) -> NewAccount:
    """Create an account with a first API key and the free signup credits, in one transaction."""
    if session.execute(select(Account.id).where(Account.email == email)).first():
        raise EmailTaken()
    account = Account(email=email, password_hash=hash_password(password), credits_balance=0)
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise EmailTaken() from exc
    key, _ = create_api_key(session, account.id, "default")
    if signup_credits > 0:
        grant_credits(session, account.id, signup_credits, EntryKind.SIGNUP_GRANT)
    session.refresh(account)
    return NewAccount(account=account, api_key=key)


def create_api_key(session: Session, account_id: str, name: str) -> tuple[str, ApiKey]:
    """A new key for the account; the plain key is returned once and only its hash is stored."""
    key, prefix = new_api_key()
    row = ApiKey(account_id=account_id, name=name, prefix=prefix, key_hash=hash_token(key))
    session.add(row)
    session.flush()
    return key, row


def list_api_keys(session: Session, account_id: str) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
    return list(session.execute(query.order_by(ApiKey.created_at)).scalars())


def revoke_api_key(session: Session, account_id: str, key_id: str) -> bool:
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


# last_used_at is written at most this often per key, so busy keys do not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyHolder:
    """The account an API key belongs to, and whether the key's `last_used_at` is due an update."""

    account: Account
    key_id: str
    touch_due: bool


def account_for_api_key(session: Session, key: str) -> KeyHolder | None:
    row = session.execute(
        select(Account, ApiKey)
        .join(ApiKey, ApiKey.account_id == Account.id)
        .where(ApiKey.key_hash == hash_token(key), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    account, api_key = row
    due = api_key.last_used_at is None or utcnow() - api_key.last_used_at >= LAST_USED_RESOLUTION
    return KeyHolder(account, api_key.id, due)


def touch_api_key(session: Session, key_id: str) -> None:
    """Record that a key was used now (at most once a minute per key: see LAST_USED_RESOLUTION)."""
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))


def log_in(session: Session, email: str, password: str, ttl_seconds: int) -> tuple[str, Account]:
    """Check a password and open a browser session; returns the session token for the cookie."""
    account = session.execute(select(Account).where(Account.email == email)).scalar_one_or_none()
    if not verify_password(account.password_hash if account else None, password) or account is None:
        raise InvalidLogin()
    token = new_session_token()
    session.add(
        BrowserSession(
            account_id=account.id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(seconds=ttl_seconds),
        )
    )
    return token, account


def account_for_session(session: Session, token: str) -> Account | None:
    row = session.execute(
        select(Account)
        .join(BrowserSession, BrowserSession.account_id == Account.id)
        .where(BrowserSession.token_hash == hash_token(token), BrowserSession.expires_at > utcnow())
    ).first()
    return row[0] if row else None


def log_out(session: Session, token: str) -> None:
    row = session.execute(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is not None:
        session.delete(row)


def set_credits_low_threshold(session: Session, account_id: str, threshold: int | None) -> Account:
    account = session.get(Account, account_id)
    assert account is not None
    account.credits_low_threshold = threshold
    session.flush()
    return account
