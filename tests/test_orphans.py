"""The test run's own process hygiene (tests/orphans.py): what a fixture's library leaves is killed, whole."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.orphans import descendants, kill_tree

# A parent that starts a child and waits, both marked by their command lines.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)  # orphan-test-child"])
print(child.pid, flush=True)
time.sleep(120)  # orphan-test-parent
"""


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_tree_kills_the_marked_child_and_everything_below_it_and_nothing_else() -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert child in descendants(parent.pid)

        killed = kill_tree(b"orphan-test-parent")

        assert set(killed) == {parent.pid, child}
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
        assert bystander.poll() is None
    finally:
        for process in (bystander, parent):
            process.kill()
            process.wait()
