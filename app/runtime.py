"""What a process builds once from its settings and passes on: database, storage, catalog, task broker.

The API builds one in `create_app` (app.state.runtime) and hands it to routes as dependencies; a worker
builds one when it starts. Nothing below reads settings or opens connections on its own, so a test builds
a runtime from its settings and needs no cache cleared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.broker.factory import make_celery
from app.broker.publish import PUBLISHER
from app.catalog.service import Catalog
from app.config import Settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.storage import Storage, make_storage

if TYPE_CHECKING:
    from celery import Celery

_RUNTIME = "runtime"


@dataclass
class Runtime:
    """One process's connections and catalog, built from its settings."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    catalog: Catalog
    _celery: Celery | None = field(default=None, repr=False)

    @classmethod
    def start(cls, settings: Settings, celery: Celery | None = None) -> Runtime:
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        runtime = cls(settings, engine, sessions, make_storage(settings), Catalog.load(settings), celery)
        # Work sent after a commit (tasks, follow-up steps) finds its runtime through the session.
        sessions.configure(info={_RUNTIME: runtime, PUBLISHER: runtime})
        return runtime

    @property
    def celery(self) -> Celery:
        """The Celery app that publishes this process's tasks (made on first use)."""
        if self._celery is None:
            self._celery = make_celery(self.settings)
        return self._celery

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A session that commits when the block ends (one step of a task, say)."""
        return unit_of_work(self.sessions)

    def close(self) -> None:
        self.engine.dispose()


def runtime_of(session: Session) -> Runtime:
    """The runtime whose sessionmaker made this session."""
    runtime: Runtime = session.info[_RUNTIME]
    return runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(runtime: RuntimeDep) -> Iterator[Session]:
    """The request's unit of work: committed once the route returns, before the response is sent;
    rolled back if the route raises."""
    with runtime.unit_of_work() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]
