"""The limits themselves (from settings) and the checks the API calls."""

from __future__ import annotations

import logging

from fastapi import Request

from app.config import Settings
from app.limits.counters import Counters
from app.limits.errors import LoginThrottled, RateLimited

MINUTE, HOUR, DAY = 60, 3600, 86400
LOGIN_WINDOW = 15 * MINUTE
log = logging.getLogger(__name__)


class Limits:
    """Every rate limit of the API, over one set of counters."""

    def __init__(self, settings: Settings, counters: Counters) -> None:
        self.settings = settings
        self.counters = counters

    def _take(self, key: str, limit: int, window: int, error: type[RateLimited] = RateLimited) -> None:
        if limit <= 0:
            return
        try:
            count = self.counters.hit(key, window)
        except Exception:
            # A limiter outage must not take the API down with it: fail open, loudly.
            log.warning("rate limit counters unavailable; not limiting", exc_info=True)
            return
        if count.hits > limit:
            raise error(max(1, count.resets_in))

    def per_ip(self, ip: str) -> None:
        self._take(f"ip:{ip}", self.settings.rate_limit_per_ip, MINUTE)

    def per_account(self, account_id: str) -> None:
        self._take(f"acct:{account_id}", self.settings.rate_limit_per_account, MINUTE)

    def job_submission(self, account_id: str) -> None:
        self._take(f"jobs:{account_id}", self.settings.job_submissions_per_minute, MINUTE)

    def signup(self, ip: str) -> None:
        self._take(f"signup:{ip}", self.settings.signups_per_ip_per_hour, HOUR)

    def signup_credits_allowed(self, ip: str) -> bool:
        """Free credits for the first few accounts a day from one address; later ones start at zero."""
        limit = self.settings.signup_credit_grants_per_ip_per_day
        try:
            return self.counters.hit(f"grant:{ip}", DAY).hits <= limit
        except Exception:
            log.warning("rate limit counters unavailable; granting signup credits", exc_info=True)
            return True

    def login_allowed(self, ip: str, email: str) -> None:
        """Refuse while the email (or the address) has too many recent failures."""
        limit = self.settings.login_failures_per_15_minutes
        for key, allowed in ((f"login:{email}", limit), (f"login-ip:{ip}", limit * 5)):
            try:
                count = self.counters.peek(key, LOGIN_WINDOW)
            except Exception:
                log.warning("rate limit counters unavailable; not throttling logins", exc_info=True)
                return
            if count.hits >= allowed:
                raise LoginThrottled(max(1, count.resets_in))

    def login_failed(self, ip: str, email: str) -> None:
        try:
            self.counters.hit(f"login:{email}", LOGIN_WINDOW)
            self.counters.hit(f"login-ip:{ip}", LOGIN_WINDOW)
        except Exception:
            log.warning("rate limit counters unavailable", exc_info=True)


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn's proxy_headers resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


_UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")


def enforce_ip_limit(request: Request) -> None:
    """App-wide dependency: every route but the probes counts against the caller's address."""
    if request.url.path not in _UNLIMITED_PATHS:
        limits_of(request).per_ip(client_ip(request))


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits
