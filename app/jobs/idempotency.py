"""Idempotency-Key records of job submissions.

A key is claimed in a unit of work of its own, committed at once: a concurrent request with the same key
must see it in flight (409) while the first is still validating and storing. The submission's own unit
links the key to its job; if that unit fails, the key is released (again on its own), so a retry works.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.jobs import errors
from app.jobs.models import IdempotencyRecord


def fingerprint(parts: list[str]) -> str:
    """What makes two requests the same: every parameter and the content's identity."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _earlier(record: IdempotencyRecord | None, request_fingerprint: str) -> str | None:
    """The job id of an earlier identical request (None: there was none); refuses a clash or one in flight."""
    if record is None:
        return None
    if record.fingerprint != request_fingerprint:
        raise errors.IdempotencyKeyReused()
    if record.job_id is None:
        raise errors.IdempotencyKeyInFlight()
    return record.job_id


def earlier_job_id(session: Session, account_id: str, key: str, request_fingerprint: str) -> str | None:
    """The job an earlier identical request with this key created, without claiming the key."""
    return _earlier(session.get(IdempotencyRecord, (account_id, key)), request_fingerprint)


def claim_key(
    sessions: sessionmaker[Session], account_id: str, key: str, request_fingerprint: str
) -> str | None:
    """Mark a key in flight (committed now), or return the job id an earlier identical request created."""
    while True:
        try:
            with unit_of_work(sessions) as session:
                session.add(
                    IdempotencyRecord(account_id=account_id, key=key, fingerprint=request_fingerprint)
                )
            return None
        except IntegrityError:
            pass
        with unit_of_work(sessions) as session:
            record = session.get(IdempotencyRecord, (account_id, key))
            if record is not None:  # else: released between our insert and read; try again
                return _earlier(record, request_fingerprint)


def link_key(session: Session, account_id: str, key: str, job_id: str) -> None:
    """Record the job a claimed key created (in the submission's own unit of work)."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
        .values(job_id=job_id)
    )


def release_key(sessions: sessionmaker[Session], account_id: str, key: str) -> None:
    """Give up a claimed key whose request failed, so that a retry may use it."""
    with unit_of_work(sessions) as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.account_id == account_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.job_id.is_(None),
            )
        )
