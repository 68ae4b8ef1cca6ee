"""The API's broker lives in app/: publishing a task imports nothing of workers/ (whose import builds the
workers' Celery app from the environment)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import support

_PROGRAM = """
import sys
from app.config import Settings
from app.main import create_app
from app.runtime import Runtime

create_app
runtime = Runtime.start(Settings(data_dir=sys.argv[1]))
print(runtime.celery.conf.task_default_queue)
runtime.close()
print(sorted(name for name in sys.modules if name.split(".")[0] == "workers"))
"""


def test_the_api_runtime_makes_its_celery_app_without_importing_workers(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(tmp_path)],
        env=support.service_env(),
        cwd=support.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["cpu", "[]"]
