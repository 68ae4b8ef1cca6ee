"""Errors of the rate limits."""

from app.errors import DomainError


class RateLimited(DomainError):
    code = "rate_limited"
    status_code = 429
    message = "Too many requests; slow down and retry after the time in the Retry-After header."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class LoginThrottled(RateLimited):
    code = "login_throttled"
    message = "Too many failed logins; wait before trying again."
