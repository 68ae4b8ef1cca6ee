"""`mindrender serve`'s worker and beat die with it, even when it is killed with SIGKILL (no grace period).

Before, each child ran in its own session: a `serve` killed before its 20 s grace left them running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import support

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, their children, ...)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = {int(child) for child in children}
    for child in list(found):
        found |= _descendants(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_the_children_of_a_killed_serve_stop_by_themselves(tmp_path, models_dir):
    port = support.free_port()
    env = support.service_env(data_dir=str(tmp_path / "var"), models_dir=str(models_dir))
    log = tmp_path / "serve.log"
    serve = support.start_process(support.mindrender("serve", "--port", str(port)), env, log)
    children: set[int] = set()
    try:
        support.wait_http(f"http://127.0.0.1:{port}/healthz", process=serve, log=log)
        deadline = time.monotonic() + 60
        while log.read_text().count(" ready.") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the job worker and beat's maintenance worker
        children = _descendants(serve.pid)
        assert len(children) >= 4, children  # two workers, a pool process, the embedded beat
        os.kill(serve.pid, signal.SIGKILL)  # the parent alone: no chance to stop its children
        serve.wait()
        killed = time.monotonic()
        while _alive(children) and time.monotonic() - killed < 30:
            time.sleep(0.2)
        print(f"children gone {time.monotonic() - killed:.1f} s after serve was killed")
        assert _alive(children) == set()
    finally:
        for pid in _alive(children):
            os.kill(pid, signal.SIGKILL)
