"""Celery messages, sent only after the transaction that owes them commits, and never on a request's clock.

Every domain owes work this way (a job to run, a webhook to deliver): `send_after_commit` notes the
message on the session; once the session commits, the message is published, or, inside an HTTP request,
published after the response has gone out (`SendAfterResponse`), so a slow or hung broker can never hold
a request, and a client is never charged for a submission it saw time out. A rolled-back transaction
sends nothing.

Publishing is bounded: short socket timeouts (app/broker/factory.py), no retry loop, and a circuit breaker
that stops trying for a few seconds after a failure. A message that could not be sent is not lost: its
row is still in the database, and the beat tasks re-send what is due (`if_unsent` lets the owner say how).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import after_commit

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)
# Seconds to stop publishing after a failure: a hung broker costs one timeout, not one per message.
BREAKER_SECONDS = 5.0
# Threads publishing after responses, apart from the request threads (a hung broker cannot starve them).
PUBLISH_THREADS = 4


# The session info key under which a sessionmaker's owner (app.runtime.Runtime) says who publishes.
PUBLISHER = "publisher"


class Publisher(Protocol):
    """What sends a process's tasks: app.runtime.Runtime, which makes its Celery app on first use."""

    @property
    def celery(self) -> Celery: ...


@dataclass(frozen=True)
class TaskMessage:
    """One Celery task to send: its name, arguments, queue, and what to do if it cannot be sent now."""

    name: str
    args: tuple[str, ...]
    queue: str
    countdown: float | None = None
    if_unsent: Callable[[], None] | None = None


class _Breaker:
    def __init__(self) -> None:
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + BREAKER_SECONDS


_breaker = _Breaker()
_request_outbox: ContextVar[list[tuple[Publisher, TaskMessage]] | None] = ContextVar(
    "request_outbox", default=None
)


def publish(runtime: Publisher, messages: Iterable[TaskMessage]) -> None:
    """Send messages now, each at most once (no retries); unsent ones are left to their owner's sweep."""
    for message in messages:
        sent = False
        if not _breaker.open:
            try:
                runtime.celery.send_task(
                    message.name,
                    args=list(message.args),
                    queue=message.queue,
                    countdown=message.countdown,
                    retry=False,
                )
                sent = True
            except Exception:
                _breaker.trip()
                log.warning("broker unavailable: %s not sent now", message.name, exc_info=True)
        if not sent and message.if_unsent is not None:
            try:
                message.if_unsent()
            except Exception:
                log.warning("could not record that %s was not sent", message.name, exc_info=True)


def send_after_commit(session: Session, message: TaskMessage) -> None:
    """Owe a task: it is sent once this session's transaction commits, and dropped if it rolls back."""
    runtime: Publisher = session.info[PUBLISHER]

    def send() -> None:
        outbox = _request_outbox.get()
        if outbox is not None:
            outbox.append((runtime, message))
        else:
            publish(runtime, [message])

    after_commit(session, send)


@contextmanager
def send_at_commit() -> Iterator[None]:
    """Inside a request: publish what a commit in this block owes at once, not after the response
    (for a response that waits on the job it just created)."""
    token = _request_outbox.set(None)
    try:
        yield
    finally:
        _request_outbox.reset(token)


def _publish_all(owed: list[tuple[Publisher, TaskMessage]]) -> None:
    for runtime, message in owed:
        publish(runtime, [message])


class SendAfterResponse:
    """ASGI middleware: tasks owed by a request are published once its response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outbox: list[tuple[Publisher, TaskMessage]] = []
        token = _request_outbox.set(outbox)
        try:
            await self.app(scope, receive, send)
        finally:
            _request_outbox.reset(token)
            if outbox:
                self._limiter = self._limiter or anyio.CapacityLimiter(PUBLISH_THREADS)
                await anyio.to_thread.run_sync(_publish_all, outbox, limiter=self._limiter)
