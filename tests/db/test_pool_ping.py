"""Pooled Postgres connections: pinged before reuse only after sitting idle, and replaced if found dead."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine, text

import app.db
from app.config import Settings
from app.db import make_engine
from tests import support

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_url: str, tmp_path) -> Engine:
    made = make_engine(Settings(database_url=postgres_url, data_dir=tmp_path))
    yield made
    made.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pings the pool sends (the dialect's own ping, which pool_pre_ping also uses)."""
    seen: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        seen.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return seen


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_given_back_a_moment_ago_is_reused_without_a_ping(engine, pings, monkeypatch):
    # A request takes a connection two or three times in a row; a ping each time was a round trip in three
    # for a status read. "A moment" is an hour here, so that a slow machine cannot make it idle.
    monkeypatch.setattr(app.db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    first = _backend(engine)
    assert [_backend(engine) for _ in range(3)] == [first] * 3
    assert len(pings) <= 1  # the new connection's first checkout, at most


def test_an_idle_connection_is_pinged_and_replaced_when_its_server_side_is_gone(engine, pings, monkeypatch):
    monkeypatch.setattr(app.db, "PING_AFTER_IDLE_SECONDS", 0.0, raising=False)  # all count as idle
    first = _backend(engine)
    with psycopg.connect(support.PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    second = _backend(engine)  # no error: the ping found the connection dead and the pool made a new one
    assert second != first
    assert pings
