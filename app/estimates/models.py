"""Workers seen alive and the speed each measured per model: what estimates are made of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String
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
    """A worker's speed for one model, fitted from its recent jobs (`SpeedSample`): seconds per output
    megapixel and per frame."""

    __tablename__ = "model_speeds"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    device: Mapped[str] = mapped_column(String(40))
    seconds_per_megapixel: Mapped[float] = mapped_column(Float)
    seconds_per_frame: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    samples: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SpeedSample(Base):
    """One finished job's run time on a worker, with what it did (frames, output pixels) and whose it was:
    the recent ones make the worker's `ModelSpeed`."""

    __tablename__ = "speed_samples"
    __table_args__ = (Index("ix_speed_samples_worker_model_id", "worker", "model", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    worker: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    frames: Mapped[int] = mapped_column(Integer)
    output_pixels: Mapped[int] = mapped_column(BigInteger)
    seconds: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
