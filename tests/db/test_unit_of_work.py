"""Units of work: who commits, what happens after a commit or a rollback, and SQLite's write lock."""

from __future__ import annotations

import ast
import threading

import pytest
from sqlalchemy import select, update

from app.accounts.models import Account
from app.accounts.service import sign_up
from app.db import after_commit, after_rollback
from tests.support import ROOT, current_runtime


@pytest.fixture(params=["sqlite", "postgres"])
def account_id(request, configure) -> str:
    if request.param == "sqlite":
        configure()
    else:
        configure(database_url=request.getfixturevalue("postgres_url"))
    with current_runtime().unit_of_work() as session:
        return sign_up(session, "uow@example.com", "correct horse", 10).account.id


def _balance(account_id: str) -> int:
    with current_runtime().unit_of_work() as session:
        return session.execute(select(Account.credits_balance).where(Account.id == account_id)).scalar_one()


def test_a_unit_commits_at_its_end_and_rolls_back_entirely_on_error(account_id):
    with current_runtime().unit_of_work() as session:
        session.execute(update(Account).where(Account.id == account_id).values(credits_balance=7))
    assert _balance(account_id) == 7
    with pytest.raises(RuntimeError), current_runtime().unit_of_work() as session:
        session.execute(update(Account).where(Account.id == account_id).values(credits_balance=3))
        raise RuntimeError("a service failed half-way")
    assert _balance(account_id) == 7  # nothing half-written


def test_actions_run_after_commit_or_after_rollback_never_both(account_id):
    ran: list[str] = []
    with current_runtime().unit_of_work() as session:
        after_commit(session, lambda: ran.append("committed"))
        after_rollback(session, lambda: ran.append("undone"))
    with pytest.raises(RuntimeError), current_runtime().unit_of_work() as session:
        after_commit(session, lambda: ran.append("committed again"))
        after_rollback(session, lambda: ran.append("undone again"))
        raise RuntimeError
    assert ran == ["committed", "undone again"]


def test_on_sqlite_a_read_holds_no_lock_against_a_writer(configure):
    configure()
    with current_runtime().unit_of_work() as session:
        account_id = sign_up(session, "reader@example.com", "correct horse", 10).account.id
    done = threading.Event()
    with current_runtime().unit_of_work() as reader:
        reader.execute(select(Account.credits_balance)).all()  # a read, left open

        def write() -> None:
            with current_runtime().unit_of_work() as writer:
                writer.execute(update(Account).where(Account.id == account_id).values(credits_balance=5))
            done.set()

        threading.Thread(target=write).start()
        # Half the busy timeout (app/db.py): a writer blocked by the read would wait all 30 s of it.
        assert done.wait(15), "the writer waited on an open read"
    assert _balance(account_id) == 5


def test_no_domain_service_commits():
    """Services flush; the request or the task step that opened the unit of work commits."""
    for path in sorted((ROOT / "app").glob("*/service.py")):
        calls = [
            node.func.attr
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        ]
        assert "commit" not in calls and "rollback" not in calls, path
