"""The FastAPI application: routers, error handlers, the streaming body cap, request ids and metrics."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from app.accounts.endpoints import router as accounts_router
from app.billing.endpoints import router as billing_router
from app.body_limit import BodyLimitMiddleware
from app.broker.publish import SendAfterResponse
from app.catalog.endpoints import router as models_router
from app.config import Settings, get_settings
from app.errors import COMMON_ERROR_RESPONSES, install_error_handlers
from app.jobs.endpoints import RecentSpeeds, uploads_router
from app.jobs.endpoints import router as jobs_router
from app.limits.counters import make_counters
from app.limits.policy import Limits, enforce_ip_limit
from app.media.decode_budget import DecodeBudget
from app.ops.endpoints import router as ops_router
from app.ops.metrics import DatabaseCollector, HttpMetrics
from app.ops.request_context import RequestContextMiddleware
from app.runtime import Runtime
from app.storage.endpoints import files_router
from app.web import api_docs
from app.web.endpoints import router as web_router
from app.web.endpoints import static_files
from app.webhooks.endpoints import router as webhooks_router

# Room for the multipart envelope and form fields around the file itself.
_MULTIPART_OVERHEAD = 1024 * 1024
log = logging.getLogger(__name__)


def _put_lifecycle_rule(runtime: Runtime) -> None:
    """The bucket's own expiry rule, a day past the result retention: a safety net behind the sweeper."""
    days = math.ceil(runtime.settings.result_ttl / 86400) + 1
    try:
        runtime.storage.ensure_lifecycle(days)
    except Exception:
        log.warning(
            "could not set the storage lifecycle rule; the sweeper still deletes on time", exc_info=True
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for these settings (the environment's, read once, when none are given)."""
    settings = settings or get_settings()
    runtime = Runtime.start(settings)
    _put_lifecycle_rule(runtime)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # served by app/web/api_docs.py with local assets
        redoc_url=None,
        dependencies=[Depends(enforce_ip_limit)],
        responses=COMMON_ERROR_RESPONSES,
        title="Mind Render",
        version="1.0.0",
        description="Upscale images with AI models. Authenticate with `Authorization: Bearer <api key>`.",
    )
    app.state.runtime = runtime
    app.state.limits = Limits(settings, make_counters(settings.rate_limit_url))
    app.state.decode_budget = DecodeBudget.from_settings(settings)
    app.state.recent_speeds = RecentSpeeds()
    install_error_handlers(app)
    app.include_router(accounts_router)
    app.include_router(models_router)
    app.include_router(jobs_router)
    app.include_router(uploads_router)
    app.include_router(files_router)
    app.include_router(webhooks_router)
    app.include_router(billing_router)
    app.include_router(web_router)
    app.mount("/static", static_files, name="static")
    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS_PATH, api_docs.assets(), name="docs-assets")

    app.include_router(ops_router)

    registry = CollectorRegistry()
    registry.register(DatabaseCollector(runtime.sessions))
    app.state.metrics_registry = registry
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_upload_bytes + _MULTIPART_OVERHEAD)
    app.add_middleware(SendAfterResponse)
    # Outermost, so it times and ids every request, refusals by the body limit included.
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    return app
