"""The migrations build the schema the models describe, on SQLite and on PostgreSQL, and the newest one can
be undone and redone over existing rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import app.main  # noqa: F401  (imports every domain's models onto Base.metadata)
from app.db import Base
from app.migrate import alembic_config, upgrade_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'schema.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_migrations_build_the_models_schema(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_the_filename_columns_come_and_go_with_their_migration(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0010")
    assert "filename" not in _columns(database_url, "jobs")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:  # an upload slot opened before the upgrade
            connection.execute(
                text(
                    "INSERT INTO accounts (id, email, password_hash, plan, credits_balance, created_at) "
                    "VALUES ('a1', 'a@example.com', 'x', 'free', 0, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO uploads (id, account_id, key, created_at, expires_at) "
                    "VALUES ('u1', 'a1', 'uploads/u1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        command.upgrade(config, "head")
        assert "filename" in _columns(database_url, "jobs") & _columns(database_url, "uploads")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT key, filename FROM uploads")).one()
        assert tuple(kept) == ("uploads/u1", None)
        command.downgrade(config, "0010")
        assert "filename" not in _columns(database_url, "jobs") | _columns(database_url, "uploads")
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT key FROM uploads")).scalar_one() == "uploads/u1"
    finally:
        engine.dispose()
