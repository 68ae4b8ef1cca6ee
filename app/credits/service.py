"""Credit operations: grants, the atomic hold when a job is accepted, and the exactly-once refund.

Every operation appends one immutable ledger row and moves the balance column in the same transaction,
so balance == sum(ledger) always holds. These functions only flush: the unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.accounts.models import Account
from app.credits.errors import InsufficientCredits
from app.credits.models import EntryKind, LedgerEntry
from app.jobs.models import Job
from app.totals import service as totals


def _credit(
    session: Session, account_id: str, amount: int, kind: str, job_id: str | None, reference: str | None
) -> int:
    """Add a positive amount to the balance and append its ledger entry; returns the new balance."""
    balance = session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(credits_balance=Account.credits_balance + amount)
        .returning(Account.credits_balance)
    ).scalar_one()
    session.add(
        LedgerEntry(
            account_id=account_id,
            amount=amount,
            balance_after=balance,
            kind=kind,
            job_id=job_id,
            reference=reference,
        )
    )
    session.flush()
    return balance


def grant_credits(
    session: Session, account_id: str, amount: int, kind: str, reference: str | None = None
) -> int:
    """Add credits (signup, plan period, pack) and return the new balance."""
    if amount <= 0:
        raise ValueError("a grant must be positive")
    return _credit(session, account_id, amount, kind, None, reference)


def balance_of(session: Session, account_id: str) -> int:
    """The account's balance now."""
    balance: int = session.execute(
        select(Account.credits_balance).where(Account.id == account_id)
    ).scalar_one()
    return balance


def balance_as_read(session: Session, account_id: str) -> int:
    """The balance as this session last read it, else read now: for refusing early only.

    Authentication loads the caller's account into the request's session a moment before a submission's
    checks, so its balance needs no query of its own (one round trip of a submission's eleven,
    bench/api_load.py). A charge it let through still meets `hold_credits`, which decides atomically.
    """
    account = session.get(Account, account_id)  # the identity map's, without SQL, where the session has it
    assert account is not None
    return account.credits_balance


def check_balance(session: Session, account_id: str, amount: int) -> None:
    """Refuse (InsufficientCredits) a price the balance cannot cover now; `reserve_credits` still decides.

    Lets a request that cannot be paid for be refused before any costly work on it.
    """
    if balance_of(session, account_id) < amount:
        raise InsufficientCredits()


def reserve_credits(session: Session, account_id: str, amount: int, job_id: str) -> int:
    """Debit a job's price, refusing (InsufficientCredits) rather than going negative; returns the balance."""
    return hold_credits(session, account_id, amount, job_id).balance


@dataclass(frozen=True)
class Hold:
    """The balance after a job's hold, and the account's low-balance threshold, read by the same UPDATE."""

    balance: int
    low_threshold: int | None


# A hold's statements, on the tables and built once: the ORM's update (with its session bookkeeping) and
# its flush of a new ledger object, and making the statements anew, were most of a submission's extra API
# CPU against aa094b9 (bench/api_load.py; py-spy).
_ACCOUNTS_TABLE, _LEDGER_TABLE = cast(Table, Account.__table__), cast(Table, LedgerEntry.__table__)
_ACCOUNTS = _ACCOUNTS_TABLE.c
_HOLD = (
    update(_ACCOUNTS_TABLE)
    .where(_ACCOUNTS.id == bindparam("account_id"), _ACCOUNTS.credits_balance >= bindparam("amount"))
    .values(credits_balance=_ACCOUNTS.credits_balance - bindparam("amount"))
    .returning(_ACCOUNTS.credits_balance, _ACCOUNTS.credits_low_threshold)
)
_LEDGER = insert(_LEDGER_TABLE)


def hold_credits(session: Session, account_id: str, amount: int, job_id: str) -> Hold:
    """Debit a job's price, refusing (InsufficientCredits) rather than going negative.

    One conditional UPDATE is atomic under READ COMMITTED: concurrent holds serialise on the row lock and
    each re-checks the predicate, so the balance can never go below zero (the CHECK constraint backs it up).
    It returns the account's `credits.low` threshold too, which a submission needs next: a SELECT of its
    own was one round trip of a submission's twelve (bench/api_load.py).
    """
    held = session.execute(_HOLD, {"account_id": account_id, "amount": amount}).one_or_none()
    if held is None:
        raise InsufficientCredits()
    balance, low_threshold = held
    loaded = session.identity_map.get(identity_key(Account, account_id))
    if loaded is not None:  # the statement bypasses the ORM: keep a loaded account's balance true
        set_committed_value(loaded, "credits_balance", balance)
    session.execute(
        _LEDGER,
        {
            "account_id": account_id,
            "amount": -amount,
            "balance_after": balance,
            "kind": EntryKind.JOB_HOLD,
            "job_id": job_id,
            "reference": None,
        },
    )
    totals.add(session, "credits_charged", amount)
    return Hold(balance, low_threshold)


def refund_job(session: Session, account_id: str, job_id: str) -> int:
    """Return a job's hold in full; callers reach this only through a state change that happens once.

    The unique (job_id, kind) key is the backstop: a second refund would violate it and roll back.
    Returns the amount refunded (0 when the job held nothing).
    """
    held = session.execute(
        select(LedgerEntry.amount).where(LedgerEntry.job_id == job_id, LedgerEntry.kind == EntryKind.JOB_HOLD)
    ).scalar_one_or_none()
    if not held:
        return 0
    amount = -held
    _credit(session, account_id, amount, EntryKind.JOB_REFUND, job_id, None)
    totals.add(session, "credits_refunded", amount)
    return amount


def take_back_credits(session: Session, account_id: str, amount: int, kind: str, reference: str) -> int:
    """Debit up to `amount`, never below zero; returns how many credits were actually taken.

    The update is conditional on the balance just read, and read again if it moved meanwhile (a job
    charged at the same moment): no lock is needed on any database.
    """
    while True:
        balance = session.execute(
            select(Account.credits_balance).where(Account.id == account_id)
        ).scalar_one()
        taken = min(amount, balance)
        if taken <= 0:
            return 0
        after = session.execute(
            update(Account)
            .where(Account.id == account_id, Account.credits_balance == balance)
            .values(credits_balance=balance - taken)
            .returning(Account.credits_balance)
        ).scalar_one_or_none()
        if after is not None:
            break
    session.add(
        LedgerEntry(account_id=account_id, amount=-taken, balance_after=after, kind=kind, reference=reference)
    )
    session.flush()
    return taken


def ledger_sum(session: Session, account_id: str) -> int:
    """The balance as the ledger says it is (used by checks and tests of the invariant)."""
    return int(
        session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account_id == account_id)
        ).scalar_one()
    )


def list_entries(session: Session, account_id: str, limit: int, before_id: int | None) -> list[LedgerEntry]:
    """An account's ledger, newest first."""
    query = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if before_id is not None:
        query = query.where(LedgerEntry.id < before_id)
    return list(session.execute(query.order_by(LedgerEntry.id.desc()).limit(limit)).scalars())


def job_file_names(session: Session, account_id: str, job_ids: set[str]) -> dict[str, str]:
    """The uploaded names of an account's jobs, for its ledger rows ("Upscale photo.jpg").

    Read from the job, never copied into the ledger: "Delete now" forgets the name on the job, and a job
    past its retention is pruned, so the ledger names a file no longer than the job does.
    """
    if not job_ids:
        return {}
    query = select(Job.id, Job.filename).where(Job.account_id == account_id, Job.id.in_(job_ids))
    return {job_id: name for job_id, name in session.execute(query) if name is not None}
