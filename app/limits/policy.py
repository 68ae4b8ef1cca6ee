"""The limits themselves (from settings) and the checks the API calls."""

from __future__ import annotations

import ipaddress

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from app.config import Settings
from app.limits.counters import Counters
from app.limits.errors import LoginThrottled, RateLimited

MINUTE, HOUR, DAY = 60, 3600, 86400
LOGIN_WINDOW = 15 * MINUTE
# An account's own ceiling on failed logins, in multiples of the per-address limit: the number of addresses
# an attacker needs to lock its user out for a window, and the bound on guesses from all of them together.
ACCOUNT_LOGIN_CEILING = 10


class Limits:
    """Every rate limit of the API, over one set of counters (which never fail: see FallbackCounters)."""

    def __init__(self, settings: Settings, counters: Counters) -> None:
        self.settings = settings
        self.counters = counters

    def _take(self, key: str, limit: int, window: int, error: type[RateLimited] = RateLimited) -> None:
        if limit <= 0:
            return
        count = self.counters.hit(key, window)
        if count.hits > limit:
            raise error(max(1, count.resets_in))

    def per_ip(self, ip: str) -> None:
        self._take(f"ip:{address_key(ip)}", self.settings.rate_limit_per_ip, MINUTE)

    def per_account(self, account_id: str) -> None:
        self._take(f"acct:{account_id}", self.settings.rate_limit_per_account, MINUTE)

    def job_submission(self, account_id: str) -> None:
        self._take(f"jobs:{account_id}", self.settings.job_submissions_per_minute, MINUTE)

    def job_quote(self, account_id: str) -> None:
        """A quote reads and decodes an upload as a submission does: limited alike, on a count of its own
        (the page quotes each file before sending it, which must not use up the submissions)."""
        self._take(f"quotes:{account_id}", self.settings.job_submissions_per_minute, MINUTE)

    def redelivery(self, account_id: str, message_id: str) -> None:
        """A manual webhook redelivery of one of the account's messages: once a minute per message, a
        quota per hour per account.

        Each one POSTs to a URL of the account's choosing: unlimited, they made us a free load generator.
        The cooldown is the owner's own (keyed on the account too), so no other account can use it up.
        """
        self._take(f"redeliver:{account_id}:{message_id}", 1, self.settings.webhook_redelivery_cooldown)
        self._take(f"redeliver-acct:{account_id}", self.settings.webhook_redeliveries_per_hour, HOUR)

    def signup(self, ip: str) -> None:
        self._take(f"signup:{address_key(ip)}", self.settings.signups_per_ip_per_hour, HOUR)

    def take_signup_grant(self, ip: str) -> bool:
        """Free credits for the first few accounts a day from one address; later ones start at zero.

        Taken before the account is created (so concurrent sign-ups cannot all get one); a sign-up that
        then fails gives it back with `return_signup_grant`.
        """
        limit = self.settings.signup_credit_grants_per_ip_per_day
        return self.counters.hit(f"grant:{address_key(ip)}", DAY).hits <= limit

    def return_signup_grant(self, ip: str) -> None:
        self.counters.hit(f"grant:{address_key(ip)}", DAY, -1)

    def _login_keys(self, ip: str, email: str) -> tuple[tuple[str, int], ...]:
        """The counts a login attempt takes, in order: the address over every account (spraying), the
        address on this account, then the account's own ceiling, ten times the pair's (docs/operations.md:
        one address cannot lock the user out, and many addresses together are still bounded)."""
        limit, address = self.settings.login_failures_per_15_minutes, address_key(ip)
        return (
            (f"login-ip:{address}", limit * 5),
            (f"login-pair:{address}:{email}", limit),
            (f"login:{email}", limit * ACCOUNT_LOGIN_CEILING),
        )

    def take_login_attempt(self, ip: str, email: str) -> None:
        """Count a login attempt before its password is checked; LoginThrottled past a limit.

        Counting first is what makes the limit hold under a burst: checked first and counted after, 60
        concurrent guesses all passed the check. The counts are taken in order and the first one over its
        limit stops the rest: an address refused for this account adds nothing to the account's ceiling,
        so its guesses cannot use the ceiling up for the user. A successful login gives its counts back
        (`login_succeeded`), so the limits are on failures.
        """
        for key, allowed in self._login_keys(ip, email):
            count = self.counters.hit(key, LOGIN_WINDOW)
            if count.hits > allowed:
                raise LoginThrottled(max(1, count.resets_in))

    def login_succeeded(self, ip: str, email: str) -> None:
        for key, _ in self._login_keys(ip, email):
            self.counters.hit(key, LOGIN_WINDOW, -1)


def address_key(ip: str) -> str:
    """The unit a limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's whole network)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn resolves X-Forwarded-For from MR_FORWARDED_ALLOW_IPS proxies)."""
    return request.client.host if request.client else "unknown"


_UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")


async def enforce_ip_limit(request: Request) -> None:
    """App-wide dependency: every route but the probes counts against the caller's address.

    Async, so the probes need no thread: they answer even when every request thread is busy. With the limit
    off there is nothing to count, and no thread to wait for.
    """
    limits = limits_of(request)
    if request.url.path not in _UNLIMITED_PATHS and limits.settings.rate_limit_per_ip > 0:
        await run_in_threadpool(limits.per_ip, client_ip(request))


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits
