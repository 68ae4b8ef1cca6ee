"""The test run's own process hygiene (tests/orphans.py): what a fixture's library leaves is killed, whole."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.orphans import descendants, kill_tree, reset_scheduling

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


@pytest.mark.skipif(sys.platform != "linux", reason="scheduling policies are Linux's")
def test_a_thread_at_real_time_is_put_back_to_normal_scheduling() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except PermissionError:
        pytest.skip("this user may not set a real-time policy (nor could a library it runs)")
    assert reset_scheduling()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER and not reset_scheduling()


def test_an_av1_clip_is_made_without_leaving_real_time_priority() -> None:
    """SVT-AV1 moves the thread that opens it to SCHED_FIFO 99 when run as root; the clip maker puts it
    back, or every process this worker started next would run at real time."""
    from tests.video.clips import Clip, make_clip

    data = make_clip(Clip(codec="libsvtav1", audio=None, width=64, height=64, frames=4))
    assert data and os.sched_getscheduler(0) == os.SCHED_OTHER
