"""The append-only credit ledger: the truth of every balance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class EntryKind:
    """Ledger entry kinds; a job has at most one hold and one refund (unique on job_id, kind)."""

    SIGNUP_GRANT = "signup_grant"
    JOB_HOLD = "job_hold"
    JOB_REFUND = "job_refund"
    PACK_PURCHASE = "pack_purchase"
    PLAN_PERIOD = "plan_period"
    PAYMENT_REFUND = "payment_refund"  # credits taken back when a payment is refunded
    OPERATOR_GRANT = "operator_grant"  # `mindrender credits grant`: an operator's own grant


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("job_id", "kind", name="uq_ledger_job_kind"),
        Index("ix_ledger_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
