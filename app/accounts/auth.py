"""Who is calling: an API key (Authorization: Bearer) or a browser session cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.accounts.errors import CrossSiteRequest
from app.accounts.models import Account
from app.accounts.service import account_for_api_key, account_for_session, touch_api_key
from app.db import read_without_transaction
from app.errors import Unauthorized
from app.limits.policy import limits_of
from app.runtime import DbSession, RuntimeDep

SESSION_COOKIE = "mr_session"
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer mr_...`")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _check_same_origin(request: Request) -> None:
    """Cookie-authenticated writes must come from our own pages (CSRF), judged by Origin or Referer."""
    if request.method in _SAFE_METHODS:
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None or urlsplit(source).netloc != request.url.netloc:
        raise CrossSiteRequest()


def current_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: DbSession,
    runtime: RuntimeDep,
) -> Account:
    """The authenticated account, or 401."""
    read_without_transaction(session)  # one SELECT: no BEGIN and COMMIT around it
    account, key_to_touch = _authenticate(request, credentials, session)
    # The request's first read ends here, and its connection goes back to the pool before the key's touch,
    # the rate limiter (Redis) or the route's own units of work (an Idempotency-Key's claim) may wait on
    # something else: a request never holds one connection while it waits for another, so a burst of
    # requests larger than the pool cannot hold every connection and wait for more (tests/hardening/
    # test_connection_pool.py). The route's next statement takes a connection again.
    session.commit()
    if key_to_touch is not None:
        # Its own short unit, committed now: the request's unit must not hold SQLite's write lock for a
        # bookkeeping write while the route's own work opens units of its own.
        with runtime.unit_of_work() as own:
            touch_api_key(own, key_to_touch)
    limits_of(request).per_account(account.id)
    return account


def _authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, session: Session
) -> tuple[Account, str | None]:
    """The caller's account, and the id of its API key where that key's last-used time is due a write."""
    if credentials is not None:
        holder = account_for_api_key(session, credentials.credentials)
        if holder is None:
            raise Unauthorized("Invalid or revoked API key.")
        return holder.account, holder.key_id if holder.touch_due else None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        account = account_for_session(session, token)
        if account is not None:
            _check_same_origin(request)
            return account, None
    raise Unauthorized()


CurrentAccount = Annotated[Account, Depends(current_account)]
