"""Routes for sign-up, sessions, the account and its API keys."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.accounts import service
from app.accounts.auth import SESSION_COOKIE, CurrentAccount
from app.accounts.models import Account
from app.accounts.schemas import (
    AccountCreated,
    AccountOut,
    AccountUpdate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    Credentials,
    SessionOut,
)
from app.credits import service as credits
from app.credits.schemas import LedgerEntryOut, LedgerPage
from app.errors import InvalidCursor, NotFound
from app.limits.policy import client_ip, limits_of
from app.runtime import DbSession, RuntimeDep

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post(
    "/accounts", status_code=status.HTTP_201_CREATED, response_model=AccountCreated, summary="Sign up"
)
def sign_up(body: Credentials, request: Request, session: DbSession, runtime: RuntimeDep) -> AccountCreated:
    limits, ip = limits_of(request), client_ip(request)
    limits.signup(ip)
    # Free credits invite farming with throwaway accounts: only the first few a day per address get them.
    granted = limits.take_signup_grant(ip)
    try:
        credits = runtime.settings.signup_credits if granted else 0
        created = service.sign_up(session, body.email, body.password, credits)
    except BaseException:
        if granted:
            limits.return_signup_grant(ip)
        raise
    return AccountCreated(id=created.account.id, email=created.account.email, api_key=created.api_key)


@router.post("/sessions", response_model=SessionOut, summary="Log in (sets the session cookie)")
def log_in(
    body: Credentials, request: Request, response: Response, session: DbSession, runtime: RuntimeDep
) -> SessionOut:
    settings = runtime.settings
    limits, ip, email = limits_of(request), client_ip(request), body.email.lower()
    limits.take_login_attempt(ip, email)
    token, account = service.log_in(session, body.email, body.password, settings.session_ttl)
    limits.login_succeeded(ip, email)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return SessionOut(account_id=account.id, email=account.email)


@router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT, summary="Log out")
def log_out(request: Request, session: DbSession) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.log_out(session, token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _account_out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account, from_attributes=True)


@router.get("/account", response_model=AccountOut, summary="The signed-in account and its balance")
def get_account(account: CurrentAccount) -> AccountOut:
    return _account_out(account)


@router.patch("/account", response_model=AccountOut, summary="Change account settings")
def update_account(body: AccountUpdate, account: CurrentAccount, session: DbSession) -> AccountOut:
    updated = service.set_credits_low_threshold(session, account.id, body.credits_low_threshold)
    return _account_out(updated)


@router.get("/account/ledger", response_model=LedgerPage, summary="Credit entries, newest first")
def get_ledger(
    account: CurrentAccount, session: DbSession, limit: int = 50, cursor: str | None = None
) -> LedgerPage:
    limit = max(1, min(limit, 200))
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidCursor()
    before = int(cursor) if cursor else None
    entries = credits.list_entries(session, account.id, limit + 1, before)
    page = entries[:limit]
    next_cursor = str(page[-1].id) if len(entries) > limit else None
    names = credits.job_file_names(session, account.id, {e.job_id for e in page if e.job_id})
    return LedgerPage(
        entries=[
            LedgerEntryOut.model_validate(e, from_attributes=True).model_copy(
                update={"filename": names.get(e.job_id or "")}
            )
            for e in page
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated, summary="New API key"
)
def create_api_key(body: ApiKeyCreate, account: CurrentAccount, session: DbSession) -> ApiKeyCreated:
    key, row = service.create_api_key(session, account.id, body.name)
    return ApiKeyCreated(
        id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at, last_used_at=None, key=key
    )


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="Active API keys (prefixes only)")
def list_api_keys(account: CurrentAccount, session: DbSession) -> list[ApiKeyOut]:
    return [
        ApiKeyOut.model_validate(k, from_attributes=True) for k in service.list_api_keys(session, account.id)
    ]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    responses={404: {"description": "No such key on this account"}},
)
def revoke_api_key(key_id: str, account: CurrentAccount, session: DbSession) -> Response:
    if not service.revoke_api_key(session, account.id, key_id):
        raise NotFound("No such API key.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
