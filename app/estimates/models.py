"""Workers seen alive and the speed each measured per model: what estimates are made of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class WorkerSeen(Base):
    """A job worker's last heartbeat: the queues it serves and its device (cpu, cuda, ...)."""

    __tablename__ = "workers_seen"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    queues: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(40))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    @property
    def queue_list(self) -> list[str]:
        return [queue for queue in self.queues.split(",") if queue]


class ModelSpeed(Base):
    """A worker's measured seconds per output megapixel for one model (a moving average of real jobs)."""

    __tablename__ = "model_speeds"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    device: Mapped[str] = mapped_column(String(40))
    seconds_per_megapixel: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
