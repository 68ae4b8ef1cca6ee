"""Running totals behind /metrics: one row per counter and label set, added to where the event happens."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class MetricTotal(Base):
    """A counter's value for one label set (`model=bicubic,status=succeeded`), across every process."""

    __tablename__ = "metric_totals"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    labels: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[float] = mapped_column(Float, default=0.0)
