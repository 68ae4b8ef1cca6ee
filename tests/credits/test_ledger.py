"""The ledger functions on their own, on SQLite and on Postgres: balance == sum(ledger), never negative."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Account
from app.accounts.service import sign_up
from app.credits.errors import InsufficientCredits
from app.credits.models import EntryKind, LedgerEntry
from app.credits.service import (
    check_balance,
    grant_credits,
    ledger_sum,
    list_entries,
    refund_job,
    reserve_credits,
    take_back_credits,
)
from tests.support import current_runtime


@pytest.fixture(params=["sqlite", "postgres"])
def account_id(request, configure) -> str:
    if request.param == "sqlite":
        configure()
    else:
        configure(database_url=request.getfixturevalue("postgres_url"))
    with current_runtime().unit_of_work() as session:
        return sign_up(session, "ledger@example.com", "correct horse", 10).account.id


def _balance(account_id: str) -> tuple[int, int]:
    """The balance column and the ledger's sum, read fresh."""
    with current_runtime().unit_of_work() as session:
        column = session.execute(select(Account.credits_balance).where(Account.id == account_id)).scalar_one()
        return column, ledger_sum(session, account_id)


def test_grants_reserves_and_refunds_move_the_balance_and_the_ledger_together(account_id):
    with current_runtime().unit_of_work() as session:
        assert grant_credits(session, account_id, 5, EntryKind.PACK_PURCHASE, reference="cs_1") == 15
        assert reserve_credits(session, account_id, 4, "job-1") == 11
    assert _balance(account_id) == (11, 11)
    with current_runtime().unit_of_work() as session:
        assert refund_job(session, account_id, "job-1") == 4
        assert refund_job(session, account_id, "job-without-a-hold") == 0
    assert _balance(account_id) == (15, 15)
    with current_runtime().unit_of_work() as session:
        kinds = [(e.kind, e.amount, e.balance_after) for e in list_entries(session, account_id, 10, None)]
    assert kinds == [
        (EntryKind.JOB_REFUND, 4, 15),
        (EntryKind.JOB_HOLD, -4, 11),
        (EntryKind.PACK_PURCHASE, 5, 15),
        (EntryKind.SIGNUP_GRANT, 10, 10),
    ]


def test_a_reserve_beyond_the_balance_is_refused_and_writes_nothing(account_id):
    with pytest.raises(InsufficientCredits), current_runtime().unit_of_work() as session:
        check_balance(session, account_id, 10)  # exactly the balance is fine
        reserve_credits(session, account_id, 11, "job-big")
    assert _balance(account_id) == (10, 10)
    with pytest.raises(InsufficientCredits), current_runtime().unit_of_work() as session:
        check_balance(session, account_id, 11)


def test_a_job_is_refunded_at_most_once(account_id):
    with current_runtime().unit_of_work() as session:
        reserve_credits(session, account_id, 3, "job-2")
        refund_job(session, account_id, "job-2")
    with pytest.raises(IntegrityError), current_runtime().unit_of_work() as session:
        refund_job(session, account_id, "job-2")  # the unique (job_id, kind) key is the backstop
    assert _balance(account_id) == (10, 10)


def test_taking_back_never_goes_below_zero(account_id):
    with current_runtime().unit_of_work() as session:
        reserve_credits(session, account_id, 7, "job-3")
        assert take_back_credits(session, account_id, 5, EntryKind.PAYMENT_REFUND, "re_1") == 3
        assert take_back_credits(session, account_id, 5, EntryKind.PAYMENT_REFUND, "re_2") == 0
    assert _balance(account_id) == (0, 0)


def test_taking_back_while_jobs_are_charged_keeps_the_ledger_whole(account_id):
    """Concurrent charges and a take-back: the conditional update retries, nothing is lost or doubled."""
    errors: list[BaseException] = []

    def charge(i: int) -> None:
        try:
            with current_runtime().unit_of_work() as session:
                reserve_credits(session, account_id, 1, f"job-c{i}")
        except InsufficientCredits:
            pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=charge, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    with current_runtime().unit_of_work() as session:
        taken = take_back_credits(session, account_id, 6, EntryKind.PAYMENT_REFUND, "re_c")
    for thread in threads:
        thread.join()
    assert errors == []
    with current_runtime().unit_of_work() as session:
        holds = session.execute(
            select(LedgerEntry).where(
                LedgerEntry.account_id == account_id, LedgerEntry.kind == EntryKind.JOB_HOLD
            )
        ).all()
    column, total = _balance(account_id)
    assert column == total == 10 - len(holds) - taken >= 0
