"""Response bodies of the ledger API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class LedgerEntryOut(BaseModel):
    id: int
    amount: int
    balance_after: int
    kind: str
    job_id: str | None
    reference: str | None
    created_at: datetime


class LedgerPage(BaseModel):
    entries: list[LedgerEntryOut]
    next_cursor: str | None
