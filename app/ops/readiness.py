"""Readiness: can this process reach the database, the broker and the storage, and run every model?"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from app.runtime import Runtime

CHECK_TIMEOUT_SECONDS = 5


def _database(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _broker(runtime: Runtime) -> None:
    with runtime.celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def _storage(runtime: Runtime) -> None:
    runtime.storage.ping()


class WeightsNotInstalled(Exception):
    """Some models' weights are missing from the models folder."""


def _models(runtime: Runtime) -> None:
    catalog = runtime.catalog
    missing = sorted(offer.id for offer in catalog if not catalog.available(offer))
    if missing:
        raise WeightsNotInstalled(", ".join(missing))


CHECKS: dict[str, Callable[[Runtime], None]] = {
    "database": _database,
    "broker": _broker,
    "storage": _storage,
    "models": _models,
}


# Checks run on their own threads, never the request threads; a hung one keeps its thread until its own
# timeout while the probe answers "timeout" on time.
_CHECK_THREADS = ThreadPoolExecutor(max_workers=2 * len(CHECKS), thread_name_prefix="readyz")


async def check_readiness(runtime: Runtime) -> dict[str, str]:
    """Each dependency: "ok" or the kind of failure (never a URL or message that could hold a secret)."""
    loop = asyncio.get_running_loop()
    futures = {name: loop.run_in_executor(_CHECK_THREADS, check, runtime) for name, check in CHECKS.items()}
    await asyncio.wait(futures.values(), timeout=CHECK_TIMEOUT_SECONDS)
    results: dict[str, str] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = "timeout"
            future.add_done_callback(lambda late: late.exception())  # its outcome is read by nobody
        elif isinstance(exc := future.exception(), WeightsNotInstalled):
            results[name] = f"missing weights: {exc}"
        elif exc is not None:  # any failure means not ready; its type says which
            results[name] = f"error: {type(exc).__name__}"
        else:
            results[name] = "ok"
    return results
