"""A real `mindrender serve` process (API + worker + beat) on the embedded defaults, on a free port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import support


@dataclass
class Service:
    url: str
    log: Path
    data_dir: Path


@contextmanager
def embedded(tmp_path: Path, port: int | None = None, **settings: str) -> Iterator[Service]:
    """`mindrender serve` with MR_ settings on top of a fresh data folder; stopped on exit."""
    port = port or support.free_port()
    data_dir = tmp_path / "var"
    env = support.service_env(data_dir=str(data_dir), sweep_interval="1", **settings)
    log = tmp_path / "serve.log"
    process = support.start_process(support.mindrender("serve", "--port", str(port)), env, log)
    try:
        support.wait_http(f"http://127.0.0.1:{port}/healthz", process=process, log=log)
        yield Service(f"http://127.0.0.1:{port}", log, data_dir)
    finally:
        support.stop_process(process)
        print(log.read_text()[-3000:])
        # Nothing the service started (worker, its embedded beat) may outlive it.
        leftovers = subprocess.run(
            ["pgrep", "-f", str(data_dir)], capture_output=True, text=True
        ).stdout.split()
        assert not leftovers, f"processes outlived `mindrender serve`: {leftovers}"


@pytest.fixture(scope="module")
def embedded_service(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Service]:
    """One `mindrender serve` for a module's tests, each with accounts of its own: starting one took 12-19 s
    of each test on the 2-core VM."""
    with embedded(tmp_path_factory.mktemp("service"), models_dir=str(models_dir)) as service:
        yield service
