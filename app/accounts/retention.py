"""Browser sessions past their expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.accounts.models import BrowserSession
from app.db import UnitOfWork, delete_in_batches


def prune_sessions(unit_of_work: UnitOfWork, now: datetime) -> int:
    """Delete expired browser sessions; how many."""
    expired = select(BrowserSession.id).where(BrowserSession.expires_at < now)
    return delete_in_batches(unit_of_work, BrowserSession, expired)
