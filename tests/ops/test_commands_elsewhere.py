"""Operator commands run outside the checkout: a one-line error naming the database, and no file made."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import support

COMMANDS = [
    ("accounts", "list"),
    ("credits", "grant", "me@example.com", "5"),
    ("jobs", "list"),
    ("jobs", "cancel", "job_123"),
]


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def _run_in(folder: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        support.mindrender(*args),
        env=support.service_env(**settings),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_an_operator_command_in_a_folder_without_data_names_the_database_and_creates_nothing(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = _run_in(tmp_path, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert str(tmp_path / "var" / "mindrender.db") in line
    assert "MR_DATA_DIR" in line and "MR_DATABASE_URL" in line
    assert _files(tmp_path) == []


@pytest.mark.parametrize("args", COMMANDS[:2], ids=" ".join)
def test_an_operator_command_on_a_database_without_tables_says_to_migrate_and_adds_none(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "mindrender.db").touch()
    done = _run_in(tmp_path, *args, data_dir=str(data))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "mindrender migrate" in line and str(data / "mindrender.db") in line
    assert (data / "mindrender.db").stat().st_size == 0
    assert _files(tmp_path) == [data, data / "mindrender.db"]
