"""Database engine and units of work: one engine per process, one unit of work per request or task step."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Select, create_engine, delete, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.config import Settings

log = logging.getLogger(__name__)
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every mapped class."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone, Postgres keeps it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")
_WRITING = "mindrender_writing"


def _take_write_lock_at_first_write(engine: Engine) -> None:
    """SQLite: statements run outside a transaction until the first write, which opens BEGIN IMMEDIATE.

    Reads then take no lock and need no commit (as reads under Postgres' READ COMMITTED see the latest
    committed rows, statement by statement), and a unit of work that writes holds the one write lock from
    its first write to its commit, so two writers never deadlock upgrading read locks. Every state change
    is a conditional UPDATE, which is what makes reads outside the writing transaction safe.
    """

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver must not open transactions itself (the documented recipe for SQLite transactions).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _lock_before_first_write(
        conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        if conn.info.get(_WRITING) or not statement.lstrip()[:9].upper().startswith(_WRITES):
            return
        cursor.execute("BEGIN IMMEDIATE")
        conn.info[_WRITING] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_over(conn: Any) -> None:
        conn.info.pop(_WRITING, None)

    @event.listens_for(engine.pool, "reset")
    def _returned_to_pool(_dbapi_connection: Any, record: Any, _state: Any) -> None:
        record.info.pop(_WRITING, None)


# A pooled connection given back less than this long ago is handed out again without a ping.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "mindrender_returned_at"


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection before it is handed out only if it sat idle, instead of at every checkout.

    A request takes a connection two or three times (authentication gives its read back before the route's
    work, a submission's response is read in a unit of its own), and a ping each time made 2 of a status
    read's 9 round trips to Postgres (bench/api_load.py). A connection that was in use a moment ago is
    as alive as a ping would find it; one that sat idle (a database restarted, a connection closed by a
    proxy's idle timeout) is pinged and replaced, as `pool_pre_ping` did. A connection that dies within
    the second is met by the request itself, which answers 503 and makes the pool reconnect.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop(_RETURNED_AT, None)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and hands out a new one (up to three tries).
            raise DisconnectionError(f"a pooled connection failed its ping: {error}") from error


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database; SQLite gets WAL, a busy timeout and write-lock handling."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _take_write_lock_at_first_write(engine)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_after_idle(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: a session that commits when the block ends and rolls back if it raises.

    Services only flush; the request (app.runtime.get_db) or the task step that opened the unit commits.
    Work owed once it commits, or undone if it rolls back, is registered with `after_commit` and
    `after_rollback`.
    """
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def read_without_transaction(session: Session) -> None:
    """Let the session's reads until its next commit run each on its own, outside a transaction (Postgres).

    For a unit that only reads: under READ COMMITTED each statement sees its own snapshot anyway, and a
    transaction around reads only costs a BEGIN and a COMMIT: a status read (authentication's key lookup,
    then the job and the ETA's sum) made seven round trips where three do (bench/api_load.py). SQLite
    reads run outside a transaction already (`_take_write_lock_at_first_write`). Call it before the
    session's first statement; the connection goes back to the pool at the commit with its usual
    isolation level.
    """
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


_AFTER_COMMIT = "after_commit"
_AFTER_ROLLBACK = "after_rollback"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction commits (dropped if it rolls back).

    Actions after a commit or a rollback run once the transaction has ended and its connection is back in
    the pool: an action that waits (a broker, object storage) or opens a unit of its own never holds a
    connection meanwhile, so a burst of them cannot hold every connection while each waits for another.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def after_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run `action` if the session's transaction rolls back (dropped if it commits): undo outside work."""
    session.connection()  # a transaction in progress, so that its rollback is seen even if nothing ran yet
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)


def _run(actions: list[Callable[[], None]] | None, when: str) -> None:
    for action in actions or ():
        try:
            action()
        except Exception:
            log.exception("an action %s failed", when)


_DUE = "due_actions"


def _due(session: Session, actions: list[Callable[[], None]] | None, when: str) -> None:
    if actions:
        session.info.setdefault(_DUE, []).append((actions, when))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_AFTER_ROLLBACK, None)
    _due(session, session.info.pop(_AFTER_COMMIT, None), "after commit")


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    _due(session, session.info.pop(_AFTER_ROLLBACK, None), "after rollback")


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction has ended and given its connection back: run what its end made due."""
    if transaction.parent is None:
        for actions, when in session.info.pop(_DUE, []):
            _run(actions, when)


# Rows per unit of work, and units per step per sweep pass: a pass stays short whatever the backlog; what is
# left waits for the next pass (MR_SWEEP_INTERVAL later).
BATCH = 200
MAX_BATCHES = 50

UnitOfWork = Callable[[], AbstractContextManager[Session]]


def locked_batch(query: Select[Any]) -> Select[Any]:
    """A batch of ids, locked for this unit where the database can (Postgres: FOR UPDATE SKIP LOCKED)."""
    return query.limit(BATCH).with_for_update(skip_locked=True)


def delete_in_batches(unit_of_work: UnitOfWork, table: type[Base], ids: Select[Any]) -> int:
    """Delete the rows whose primary keys `ids` selects, a locked batch per unit of work; how many."""
    key = table.__mapper__.primary_key[0]
    deleted = 0
    for _ in range(MAX_BATCHES):
        with unit_of_work() as session:
            batch = list(session.execute(locked_batch(ids)).scalars())
            if batch:
                session.execute(delete(table).where(key.in_(batch)))
        deleted += len(batch)
        if len(batch) < BATCH:
            break
    return deleted
