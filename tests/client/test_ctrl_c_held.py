"""A Ctrl-C during a submission waits for its answer: the job may exist already, and only the answer names it
for the cancel that follows. Real SIGINTs to this process."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from app.client.api import ApiError
from app.client.commands import _ctrl_c_held


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT as Python installs it in a terminal (a background run may have it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_during_the_submission_comes_once_it_is_answered(ctrl_c_raises, capsys):
    answered = False
    with pytest.raises(KeyboardInterrupt), _ctrl_c_held():
        os.kill(os.getpid(), signal.SIGINT)
        answered = True  # the submission's answer, read after the Ctrl-C
    assert answered
    assert "stopping once the submission is answered" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_stops_at_once(ctrl_c_raises):
    reached = False
    with pytest.raises(KeyboardInterrupt), _ctrl_c_held():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        reached = True
    assert not reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_held_through_a_failed_submission_still_stops(ctrl_c_raises):
    """A refused or unreachable submission must not turn the user's Ctrl-C into "go on with the next file"."""
    with pytest.raises(KeyboardInterrupt) as stopped, _ctrl_c_held():
        os.kill(os.getpid(), signal.SIGINT)
        raise ApiError(402, "insufficient_credits", "Not enough credits.")
    assert isinstance(stopped.value.__context__, ApiError)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_ctrl_c_nothing_changes(ctrl_c_raises):
    with _ctrl_c_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
