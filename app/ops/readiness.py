"""Readiness: can this process reach the database, the broker and the object storage right now?"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import text

from app.db import get_engine
from app.storage import get_storage

CHECK_TIMEOUT_SECONDS = 5


def _database() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def _broker() -> None:
    from workers.celery_app import get_celery

    with get_celery().connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)


def _storage() -> None:
    get_storage().ping()


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "broker": _broker, "storage": _storage}


def check_readiness() -> dict[str, str]:
    """Each dependency: "ok" or the kind of failure (never a URL or message that could hold a secret)."""
    results: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
        futures = {name: pool.submit(check) for name, check in CHECKS.items()}
        for name, future in futures.items():
            try:
                future.result(timeout=CHECK_TIMEOUT_SECONDS)
                results[name] = "ok"
            except FutureTimeout:
                results[name] = "timeout"
            except Exception as exc:  # any failure means not ready; the type says which kind
                results[name] = f"error: {type(exc).__name__}"
    return results
