"""Webhook messages past their retention: delivered or given up, finished before job rows are dropped."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.config import Settings
from app.db import UnitOfWork, delete_in_batches
from app.webhooks.models import MessageStatus, WebhookMessage


def prune_messages(unit_of_work: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Delete finished messages older than MR_JOB_ROW_RETENTION (their attempts go with them); how many."""
    cutoff = now - timedelta(seconds=settings.job_row_retention)
    finished = select(WebhookMessage.id).where(
        WebhookMessage.status.in_((MessageStatus.SUCCEEDED, MessageStatus.FAILED)),
        WebhookMessage.finished_at < cutoff,
    )
    return delete_in_batches(unit_of_work, WebhookMessage, finished)
