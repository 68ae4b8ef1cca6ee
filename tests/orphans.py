"""No process outlives the test worker that started it, and no test leaves its worker at real-time priority.

pytest-timeout ends a test worker that hangs with os._exit: its fixtures' teardown never runs, and what it
started lives on: a served API that keeps converting weights, a browser. On a 2-core machine such orphans
slow every later test towards its timeout, which ends more workers. So the run's controller (the
pytest-xdist process that starts the workers) becomes their processes' subreaper: what a dead worker started
is handed to it, and it stops all of that as soon as the worker is down. (Service processes started by
tests/support.py are also told to stop when their test's process dies.)

Worse than an orphan is a worker at real-time priority: every process it starts inherits it. SVT-AV1 put
its caller at SCHED_FIFO 99 (tests/video/clips.py), and the browser that worker started next spun at real
time, at 97 % of a core for its driver and as much for Chromium, load 70 on 2 cores: the CI runs that ran
out of time. Each test must leave its worker's scheduling as it found it (`pytest_runtest_call`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Generator
from pathlib import Path

import pytest

PR_SET_CHILD_SUBREAPER = 36
_WORKER_COMMAND = b"exec(eval(sys.stdin.readline()))"  # how execnet starts a pytest-xdist worker


def become_subreaper() -> None:
    """In the controller: orphans of the workers' processes become its children (Linux)."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _parents() -> dict[int, tuple[int, str]]:
    """Every living process's parent and state, by pid (from /proc; zombies included)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            found[int(stat.parent.name)] = (int(fields[1]), fields[0])
    return found


def _command(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    return b""


def _children() -> list[int]:
    """This process's living children that are not test workers."""
    me = os.getpid()
    return [
        pid
        for pid, (parent, state) in _parents().items()
        if parent == me and state != "Z" and _WORKER_COMMAND not in _command(pid)
    ]


def descendants(pid: int, parents: dict[int, tuple[int, str]] | None = None) -> list[int]:
    """The living processes below `pid`, parents before their children (`parents`: a `_parents()` read)."""
    parents = _parents() if parents is None else parents
    below: list[int] = []
    level = [pid]
    while level:
        level = [child for child, (parent, state) in parents.items() if parent in level and state != "Z"]
        below += level
    return below


def kill_tree(command: bytes) -> list[int]:
    """Kill this process's children whose command line holds `command`, and everything below them.

    For a helper that a fixture started through a library and could not stop (Playwright's driver and its
    browser): without it, each would go on using a core while the worker runs other tests.
    """
    me, parents = os.getpid(), _parents()
    roots = [pid for pid, (parent, _) in parents.items() if parent == me and command in _command(pid)]
    killed = [pid for root in roots for pid in [root, *descendants(root, parents)]]
    for pid in killed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in roots:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return killed


def stop_orphans() -> list[int]:
    """Kill what the dead workers left (and what that leaves in turn); returns the pids stopped.

    Never waits on a process: the run's controller calls it, and one that lingers must not stall the run.
    """
    stopped: list[int] = []
    for _ in range(20):  # a killed orphan's own children are handed over next
        orphans = _children()
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)  # a service in its own group: all of it
                os.kill(pid, signal.SIGKILL)
        stopped += [pid for pid in orphans if pid not in stopped]
        time.sleep(0.1)
        for pid in stopped:  # reaped once dead
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if not orphans:
            break
    return stopped


def reset_scheduling() -> bool:
    """Put this thread back to normal scheduling if something moved it to real time; whether it had."""
    if sys.platform != "linux" or os.sched_getscheduler(0) == os.SCHED_OTHER:
        return False
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test must leave its worker's scheduling as it found it.

    A worker at real-time priority passes it on to every process it starts: SVT-AV1, run as root, did that
    (tests/video/clips.py `scheduling_kept`), and the browser and services started after it spun at real
    time and starved the whole run. The worker is put back either way; a test that passed fails here.
    """
    try:
        result = yield
    except BaseException:
        reset_scheduling()
        raise
    if reset_scheduling():
        pytest.fail(f"{item.nodeid} left this test worker at real-time priority (put back to normal)")
    return result


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER") and config.getoption("numprocesses", None):
        become_subreaper()  # pytest-xdist's controller


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object | None) -> None:
    """A worker is down (finished, or ended by a timeout): nothing it started may run on."""
    stopped = stop_orphans()
    if stopped:
        print(f"\nstopped {len(stopped)} processes a dead test worker left running: {stopped}", flush=True)
