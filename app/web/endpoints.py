"""GET / (the page) with a strict Content-Security-Policy; its assets are mounted at /static."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.config import Settings
from app.runtime import RuntimeDep

WEB_DIR = Path(__file__).parent
router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=WEB_DIR / "static")


def _content_security_policy(settings: Settings) -> str:
    # Results on S3 are shown from their presigned host; on local disk they are same-origin.
    images = "'self' blob: data:" + (" https:" if settings.resolved_storage_url.startswith("s3://") else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@router.get("/", response_class=HTMLResponse)
def page(runtime: RuntimeDep) -> HTMLResponse:
    html = (WEB_DIR / "templates" / "index.html").read_text()
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": _content_security_policy(runtime.settings),
            "Cache-Control": "no-cache",
            "Referrer-Policy": "same-origin",
        },
    )
