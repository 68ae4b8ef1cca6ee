"""Probes and metrics: GET /healthz, /readyz and /metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from app.errors import Unauthorized
from app.ops.readiness import check_readiness
from app.runtime import RuntimeDep, get_runtime

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """On the event loop, never queued behind request threads (a hung dependency cannot make it time out)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database, broker and storage are reachable",
    responses={503: {"description": "A dependency is unreachable; `checks` says which"}},
)
async def readyz(request: Request) -> JSONResponse:
    checks = await check_readiness(get_runtime(request))
    ready = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(
    request: Request, runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = runtime.settings.metrics_token
    if token and authorization != f"Bearer {token}":
        raise Unauthorized("Metrics need `Authorization: Bearer <MR_METRICS_TOKEN>`.")
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
