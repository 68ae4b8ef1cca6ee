"""Structured logs: one JSON object per line, carrying the request id or job id of the work being done."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and belongs in the JSON object.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "context"}


class ContextFilter(logging.Filter):
    """Stamps each record with the current request and job ids (contextvars follow threads and tasks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, job_id = request_id_var.get(), job_id_var.get()
        record.request_id = request_id
        record.job_id = job_id
        record.context = request_id or job_id or "-"
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id", "job_id", ...extra, "exc"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and value is not None:
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"


def configure_logging(log_format: str, level: str) -> None:
    """Route every logger (ours, uvicorn's, celery's) through one stderr handler: JSON lines for machines,
    short text lines for a person at a terminal (`auto` picks by whether stderr is one)."""
    as_text = log_format == "text" or (log_format == "auto" and sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(_TEXT_FORMAT) if as_text else JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.task", "celery.worker"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    # Our own access log line (with the request id and route) replaces uvicorn's.
    logging.getLogger("uvicorn.access").disabled = True
    # Celery's per-task lines and the scheduler's every 10 s say nothing ours don't (job started, succeeded,
    # failed); its warnings and errors still show.
    for chatty in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if as_text:
        # A person at a terminal: one line per request is a scroll of page polls; errors still show.
        logging.getLogger("mindrender.access").setLevel(logging.WARNING)


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    """Log lines written inside carry this job's id."""
    token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(token)
