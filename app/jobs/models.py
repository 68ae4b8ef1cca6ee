"""Jobs and idempotency records. Postgres (or SQLite) is the source of truth for job state, not Celery."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts.models import new_id
from app.db import Base, UTCDateTime, utcnow
from models.recipe import Recipe, recipe_from_data
from models.spec import Options


class JobStatus:
    """queued -> running -> succeeded | failed; queued -> canceled; succeeded -> expired."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    ACTIVE = (QUEUED, RUNNING)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_account_created", "account_id", "created_at", "id"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
        Index("ix_jobs_status_expires", "status", "expires_at"),
        Index("ix_jobs_status_finished", "status", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    model: Mapped[str] = mapped_column(String(100))
    scale: Mapped[int] = mapped_column(Integer)
    # The model's options: a denoise level (None: the plain weights) or its conservative variant.
    denoise: Mapped[int | None] = mapped_column(Integer, nullable=True)
    conservative: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The preset the request named (`auto` included) and why it picked the model: "JPEG quality ~35; photo".
    preset: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # What ran when it was more than the one model above: a pipeline (a 1x clean-up, then the upscaler) or a
    # blend of two at `detail` (models/recipe.py's data, as JSON). Null: the model alone.
    recipe: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[int | None] = mapped_column(Integer, nullable=True)
    queue: Mapped[str] = mapped_column(String(16))
    # The uploaded file's name, cleaned (app/jobs/file_names.py): shown in history, and what the result and
    # its zip entry are named after (photo.jpg -> photo_x4.png). None when the client sent no name.
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)

    input_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    input_width: Mapped[int] = mapped_column(Integer)
    input_height: Mapped[int] = mapped_column(Integer)
    input_format: Mapped[str] = mapped_column(String(16))
    input_bytes: Mapped[int] = mapped_column(Integer)
    # Videos only (null for an image): frames, average frame rate and seconds; the result keeps all three.
    input_frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    input_fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    input_duration: Mapped[float | None] = mapped_column(Float, nullable=True)

    output_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    output_width: Mapped[int] = mapped_column(Integer)
    output_height: Mapped[int] = mapped_column(Integer)
    output_format: Mapped[str] = mapped_column(String(16))
    output_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # a video may pass 2 GiB
    output_quality: Mapped[int] = mapped_column(Integer, default=92, server_default="92")
    metadata_mode: Mapped[str] = mapped_column(String(16), default="default", server_default="default")

    credits_charged: Mapped[int] = mapped_column(Integer)
    # Seconds the job was expected to run when it was accepted (app/estimates).
    estimated_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    credits_refunded: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)

    # Delivery bookkeeping: each claim by a worker increments attempts and takes a renewable lease.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def recipe_to_run(self) -> Recipe:
        """The recipe this job runs: the stored one, or its one model with its options."""
        if self.recipe is not None:
            return recipe_from_data(json.loads(self.recipe))
        return Recipe.single(self.model, Options(self.denoise, self.conservative))

    @property
    def is_video(self) -> bool:
        return self.input_frames is not None

    @property
    def output_pixels(self) -> int:
        """Pixels of the whole result: one image, or every frame of a video (what the price counts)."""
        return self.output_width * self.output_height * (self.input_frames or 1)


class IdempotencyRecord(Base):
    """One Idempotency-Key of one account: the request's fingerprint and the job it created."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Upload(Base):
    """A direct-to-bucket upload slot: a presigned POST for `key`, consumed by at most one job."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    # The name the client gave when opening the slot (the bucket never tells us), kept for its job.
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
