"""Domain errors and the one place they become HTTP responses: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """An error a client can act on: a stable snake_case code, an HTTP status and a human message."""

    code = "error"
    status_code = 400
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.detail = message or self.message
        self.headers = headers


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    message = "No such resource."


class InvalidCursor(DomainError):
    """A list's `cursor` that no page of it gave (jobs, credit history)."""

    code = "invalid_cursor"
    status_code = 400
    message = "The pagination cursor is not valid."


class Unauthorized(DomainError):
    code = "unauthorized"
    status_code = 401
    message = "Missing or invalid credentials."


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable, snake_case, stable.", examples=["insufficient_credits"])
    message: str = Field(description="For people.")


class ErrorBody(BaseModel):
    """Every error response: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


def _documented(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every operation: any route may meet these (auth, validation, limits, a database outage).
COMMON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request"),
    401: _documented("Missing or invalid credentials"),
    403: _documented("Cross-site request refused"),
    404: _documented("Not found (another account's things are not found either)"),
    409: _documented("Conflict"),
    413: _documented("Upload too large"),
    415: _documented("Not a supported image"),
    422: _documented("Invalid parameters (`validation_error` or a specific code)"),
    429: _documented("Rate limited; see Retry-After"),
    503: _documented("Briefly unavailable (or billing not configured); retry"),
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def install_error_handlers(app: FastAPI) -> None:
    """Map every error a route can raise to the single error shape."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.detail), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}"
            for err in exc.errors()
        )
        return JSONResponse(error_body("validation_error", problems or "Invalid request."), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value the request carried (a NUL character in an id, say): a client error.
        log.info("refused value on %s %s: %s", request.method, _route(request), type(exc).__name__)
        return JSONResponse(
            error_body("invalid_value", "The request holds a value that cannot be used (a NUL character?)."),
            status_code=400,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # A dropped or refused database connection: the transaction rolled back, so retrying is safe.
        log.warning("database unavailable on %s %s: %s", request.method, _route(request), type(exc).__name__)
        return JSONResponse(
            error_body("service_unavailable", "The service is briefly unavailable; retry in a moment."),
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, _route(request))
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side."), status_code=500
        )
