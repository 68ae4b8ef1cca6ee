"""Operator commands on the database, for self-hosters: grant credits, list accounts, list and cancel jobs.

They run where the service's settings are (`MR_DATABASE_URL`, `MR_STORAGE_URL`), not through the API, so a
local user without billing can still get credits: `mindrender credits grant me@example.com 25`.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from app.accounts.models import Account
from app.config import Settings, get_settings
from app.credits.models import EntryKind
from app.credits.service import grant_credits
from app.jobs import lifecycle
from app.jobs.models import Job, JobStatus
from app.jobs.retention import delete_job_files
from app.runtime import Runtime


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class DatabaseNotReady(Exception):
    """The configured database is missing, unreachable or has no tables: the line to show the operator."""


_POINT_AT_IT = (
    "set MR_DATA_DIR (or MR_DATABASE_URL) to the service's, or run this where `mindrender serve` runs"
)


def _sqlite_has_accounts(path: str) -> bool:
    """Whether the SQLite file exists and has the schema; opened read-write but never created (mode=rw)."""
    try:
        with closing(sqlite3.connect(f"{Path(path).as_uri()}?mode=rw", uri=True)) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'accounts'"
            ).fetchone()
    except sqlite3.Error as exc:
        raise DatabaseNotReady(f"no database at {path} ({exc}); {_POINT_AT_IT}") from exc
    return found is not None


def check_database(settings: Settings) -> None:
    """Refuse, in one line, a database that an operator command would otherwise create or fail on.

    The settings are found as `serve` finds them (MR_* variables, data in ./var of the current folder), so
    run elsewhere the command would open, and create, an empty database of its own.
    """
    url = make_url(settings.resolved_database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        where = url.database or ":memory:"
        ready = where != ":memory:" and _sqlite_has_accounts(where)
    else:
        engine = create_engine(url)
        try:
            ready = inspect(engine).has_table("accounts")
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise DatabaseNotReady(f"cannot open the database {shown} ({reason}); {_POINT_AT_IT}") from exc
        finally:
            engine.dispose()
        where = shown
    if not ready:
        raise DatabaseNotReady(
            f"the database {where} has no tables: run `mindrender migrate` if it is the service's, "
            f"else {_POINT_AT_IT}"
        )


@contextmanager
def _runtime() -> Iterator[Runtime]:
    settings = get_settings()
    check_database(settings)
    runtime = Runtime.start(settings)
    try:
        yield runtime
    finally:
        runtime.close()


def _account(runtime: Runtime, email: str) -> Account | None:
    with runtime.unit_of_work() as session:
        return session.execute(
            select(Account).where(Account.email == email.strip().lower())
        ).scalar_one_or_none()


def cmd_credits_grant(ns: argparse.Namespace) -> int:
    if ns.amount <= 0:
        print("mindrender: the amount must be a positive number of credits", file=sys.stderr)
        return 2
    with _runtime() as runtime:
        account = _account(runtime, ns.email)
        if account is None:
            print(f"mindrender: no account with the email {ns.email}", file=sys.stderr)
            return 1
        with runtime.unit_of_work() as session:
            balance = grant_credits(session, account.id, ns.amount, EntryKind.OPERATOR_GRANT, ns.reason)
    print(f"granted {plural(ns.amount, 'credit')} to {account.email}; balance {balance}")
    return 0


def cmd_accounts_list(ns: argparse.Namespace) -> int:
    with _runtime() as runtime, runtime.unit_of_work() as session:
        jobs = select(Job.account_id, func.count().label("jobs")).group_by(Job.account_id).subquery()
        rows = session.execute(
            select(Account, func.coalesce(jobs.c.jobs, 0))
            .outerjoin(jobs, jobs.c.account_id == Account.id)
            .order_by(Account.created_at.desc())
            .limit(ns.limit)
        ).all()
    if not rows:
        print("no accounts yet")
    for account, job_count in rows:
        print(
            f"{account.created_at:%Y-%m-%d %H:%M}  {account.email:32}  {account.plan:8}  "
            f"{plural(account.credits_balance, 'credit'):>12}  {plural(job_count, 'job')}"
        )
    return 0


def cmd_jobs_list(ns: argparse.Namespace) -> int:
    with _runtime() as runtime, runtime.unit_of_work() as session:
        query = select(Job, Account.email).join(Account, Account.id == Job.account_id)
        if ns.active:
            query = query.where(Job.status.in_(JobStatus.ACTIVE))
        if ns.email:
            query = query.where(Account.email == ns.email.strip().lower())
        rows = session.execute(query.order_by(Job.created_at.desc()).limit(ns.limit)).all()
    if not rows:
        print("no jobs")
    for job, email in rows:
        print(
            f"{job.created_at:%Y-%m-%d %H:%M:%S}  {job.id}  {job.status:9}  {job.model} x{job.scale}  "
            f"{job.input_width}x{job.input_height}  {plural(job.credits_charged, 'credit')}  {email}"
        )
    return 0


def cmd_jobs_cancel(ns: argparse.Namespace) -> int:
    with _runtime() as runtime:
        with runtime.unit_of_work() as session:
            job = session.get(Job, ns.job_id)
            if job is None:
                print(f"mindrender: no job {ns.job_id}", file=sys.stderr)
                return 1
            was = job.status
            lifecycle.cancel_job(session, runtime.settings, job.account_id, job.id)
        delete_job_files(runtime, ns.job_id)
        with runtime.unit_of_work() as session:
            job = session.get(Job, ns.job_id)
            assert job is not None
            now, refunded = job.status, job.credits_refunded
    refund = f", {plural(refunded, 'credit')} refunded" if refunded else ""
    print(f"job {ns.job_id}: {was} -> {now}{refund}; its files are deleted")
    return 0


def _refusing_unready_databases(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """The command, answering exit status 2 and one line where the database is not the service's."""

    def run(ns: argparse.Namespace) -> int:
        try:
            return command(ns)
        except DatabaseNotReady as exc:
            print(f"mindrender: {exc}", file=sys.stderr)
            return 2

    return run


def add_operator_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `credits`, `accounts` and `jobs` on the `mindrender` command."""
    credits = sub.add_parser("credits", help="operator: credits of an account (on the database)")
    credits_sub = credits.add_subparsers(dest="credits_command", required=True)
    grant = credits_sub.add_parser("grant", help="add credits to an account, with a ledger entry")
    grant.add_argument("email")
    grant.add_argument("amount", type=int)
    grant.add_argument("--reason", default=None, help="kept on the ledger entry")
    grant.set_defaults(func=_refusing_unready_databases(cmd_credits_grant))

    accounts = sub.add_parser("accounts", help="operator: accounts (on the database)")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    listing = accounts_sub.add_parser("list", help="accounts, newest first, with balance and job count")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=_refusing_unready_databases(cmd_accounts_list))

    jobs = sub.add_parser("jobs", help="operator: jobs of every account (on the database)")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    job_list = jobs_sub.add_parser("list", help="jobs, newest first")
    job_list.add_argument("--limit", type=int, default=50)
    job_list.add_argument("--active", action="store_true", help="only queued and running jobs")
    job_list.add_argument("--email", help="only this account's jobs")
    job_list.set_defaults(func=_refusing_unready_databases(cmd_jobs_list))
    cancel = jobs_sub.add_parser("cancel", help="cancel a queued or running job (refunded), delete its files")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=_refusing_unready_databases(cmd_jobs_cancel))
