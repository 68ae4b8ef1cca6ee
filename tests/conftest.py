"""Fixtures: an isolated service configuration per test, on SQLite or on the real Postgres and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app import config
from app.migrate import upgrade_database
from app.runtime import Runtime
from tests import support

pytest_plugins = ["tests.orphans"]  # what a test worker ended by a timeout leaves running is stopped


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model weights installed once per test run, as `mindrender models install` does: under pytest-xdist
    the first worker installs them into the run's shared folder while the others wait on a lock."""
    from filelock import FileLock

    from models.install import install_official_weights

    if not support.XDIST_WORKER:
        folder = tmp_path_factory.mktemp("models")
        install_official_weights(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's own
    folder, done = shared / "models", shared / "models.installed"
    with FileLock(str(shared / "models.lock")):
        if not done.exists():
            install_official_weights(folder)
            done.touch()
    return folder


@pytest.fixture
def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_dir: Path
) -> Iterator[Callable[..., config.Settings]]:
    """Point the process-wide settings at a fresh data dir (plus any MR_ overrides) and migrate."""

    runtimes: list[Runtime] = []

    def apply(**overrides: str) -> config.Settings:
        monkeypatch.setenv("MR_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("MR_MODELS_DIR", str(models_dir))
        for key, value in overrides.items():
            monkeypatch.setenv(f"MR_{key.upper()}", value)
        config.get_settings.cache_clear()
        settings = config.get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_database(settings.resolved_database_url)
        runtimes.append(Runtime.start(settings))
        support.use_runtime(runtimes[-1])
        return settings

    yield apply
    support.use_runtime(None)
    for runtime in runtimes:
        runtime.close()
    config.get_settings.cache_clear()


@pytest.fixture
def settings(configure: Callable[..., config.Settings]) -> config.Settings:
    """Embedded defaults: SQLite, filesystem broker, local disk, all under a temp folder."""
    return configure()


@pytest.fixture
def client(settings: config.Settings) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def signup(settings: config.Settings) -> Iterator[Callable[..., TestClient]]:
    """Sign up a fresh account over the API and return a client authenticated with its key.

    Each account gets an app for the settings configured last (a test may `configure` after the fixtures).
    """
    from app.main import create_app

    counter = iter(range(1_000_000))
    clients: list[TestClient] = []

    def make(email: str | None = None) -> TestClient:
        email = email or f"user{next(counter)}@example.com"
        authed = TestClient(create_app(config.get_settings()), base_url="http://testserver")
        clients.append(authed)
        response = authed.post("/v1/accounts", json={"email": email, "password": "correct horse"})
        assert response.status_code == 201, response.text
        authed.headers["Authorization"] = f"Bearer {response.json()['api_key']}"
        return authed

    yield make
    for authed in clients:
        authed.app.state.runtime.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    support.require_server("PostgreSQL", support.postgres_available())
    return support.PG_ADMIN_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    support.require_server("Redis", support.redis_available())
    import redis

    redis.Redis.from_url(support.REDIS_URL).flushdb()
    return support.REDIS_URL


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    with support.fresh_postgres_database() as url:
        yield url


@pytest.fixture
def http_client_factory() -> Iterator[Callable[[str, str | None], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(base_url: str, api_key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        http = httpx.Client(base_url=base_url, headers=headers, timeout=30, follow_redirects=True)
        clients.append(http)
        return http

    yield make
    for http in clients:
        http.close()
