"""The SSRF guard: a webhook may only reach a public internet address, checked after DNS resolution.

The caller connects to the address checked here (pinned), never to a second resolution of the name, so a
DNS answer that changes between check and connect (rebinding) cannot redirect a delivery inward.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.config import Settings
from app.webhooks.errors import WebhookUrlNotAllowed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = ipaddress.ip_address("169.254.169.254")


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: the URL's parts and the address the socket will connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def pinned_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, including any IPv4 address wrapped inside an IPv6 one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
    if address == _METADATA or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified or address.is_link_local
    )


def parse_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path+query of an http(s) URL without credentials; refuses anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlNotAllowed("That is not a valid URL.") from None
    if not url.isprintable():
        raise WebhookUrlNotAllowed("Webhook URLs must not contain control characters.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlNotAllowed("Webhook URLs must start with http:// or https:// and name a host.")
    if "@" in parts.netloc:  # empty credentials too (http://:@host/): no userinfo at all
        raise WebhookUrlNotAllowed("Webhook URLs must not carry credentials; use the signature instead.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve_target(url: str, allow_private: bool) -> Target:
    """Check a URL and pick the address to connect to; every address the name has must be public."""
    scheme, host, port, path = parse_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlNotAllowed(f"The host {host!r} does not resolve.") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise WebhookUrlNotAllowed(
                f"The host {host!r} resolves to a non-public address ({refused[0]}); webhooks only go to the "
                "public internet."
            )
    return Target(scheme, host, port, path, str(addresses[0]))


def check_webhook_url(settings: Settings, url: str) -> None:
    """Refuse a URL that is not http(s) or does not resolve to public addresses only (an endpoint's URL,
    a job's webhook_url), before it is stored."""
    resolve_target(url, settings.webhook_allow_private)
