"""Response bodies of the ledger API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LedgerEntryOut(BaseModel):
    id: int
    amount: int
    balance_after: int
    kind: str
    job_id: str | None
    reference: str | None
    filename: str | None = Field(
        default=None,
        description="The job's uploaded file name, for entries about a job; null once the job's files were "
        'deleted with "Delete now" or the job is past its retention, and for entries about no job.',
    )
    created_at: datetime


class LedgerPage(BaseModel):
    entries: list[LedgerEntryOut]
    next_cursor: str | None
