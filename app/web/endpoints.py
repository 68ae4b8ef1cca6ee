"""GET / (the page) with a strict Content-Security-Policy; its assets are mounted at /static."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.runtime import RuntimeDep

WEB_DIR = Path(__file__).parent
router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=WEB_DIR / "static")


def _storage_origin(settings: Settings) -> str:
    """Where the page's result links point: nowhere else on local disk (same-origin); on S3 the endpoint
    clients use (links on a custom endpoint are path-style: its origin), or any https origin on AWS (the
    bucket's own host name)."""
    if not settings.resolved_storage_url.startswith("s3://"):
        return ""
    endpoint = settings.resolved_s3_public_endpoint_url
    if not endpoint:
        return " https:"
    parts = urlsplit(endpoint)
    return f" {parts.scheme}://{parts.netloc}"


def _content_security_policy(settings: Settings) -> str:
    remote = _storage_origin(settings)
    # blob: for the chosen clip's preview and the original played beside the result, from this tab.
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' blob: data:{remote}; media-src 'self' blob:{remote}; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _retention(seconds: int) -> str:
    """The result retention in words: "24 hours", "2 days", "30 minutes" (a day is said in hours)."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size or (seconds == size and unit != "day"):
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def _render(settings: Settings) -> str:
    """The page with this service's numbers: the free credits at sign-up and how long results are kept."""
    html = (WEB_DIR / "templates" / "index.html").read_text()
    values = {"signup_credits": str(settings.signup_credits), "retention": _retention(settings.result_ttl)}
    for name, value in values.items():
        html = html.replace(f"{{{{{name}}}}}", value)
    return html


@router.get("/", response_class=HTMLResponse)
def page(runtime: RuntimeDep) -> HTMLResponse:
    html = _render(runtime.settings)
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": _content_security_policy(runtime.settings),
            "Cache-Control": "no-cache",
            "Referrer-Policy": "same-origin",
        },
    )
