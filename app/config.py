"""Service settings, read once from MR_* environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,50400,72000,86400"


class Settings(BaseSettings):
    """Every knob of the service; unset URLs fall back to the embedded defaults under data_dir."""

    model_config = SettingsConfigDict(env_prefix="MR_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    broker_url: str | None = None
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = Field(
        default=None,
        description="Where clients reach the bucket, for download links and direct uploads, when it is not "
        "where the service does (a MinIO inside a cluster, behind an ingress); default: s3_endpoint_url.",
    )
    models_dir: Path | None = None

    result_ttl: int = Field(default=86400, ge=1, description="Seconds a result is kept after its job ends.")
    job_row_retention: int = Field(
        default=90 * 86400,
        ge=86400,
        description="Seconds a job's row (and its webhook messages) is kept after it ends; the ledger stays.",
    )
    result_url_ttl: int = Field(default=300, ge=10, le=604800, description="Seconds a presigned link lives.")
    sweep_interval: float = Field(default=60, gt=0, description="Seconds between sweeper runs.")
    signup_credits: int = Field(default=10, ge=0)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    max_input_pixels: int = Field(default=25_000_000, ge=1)
    max_output_pixels: int = Field(default=200_000_000, ge=1)
    max_video_seconds: float = Field(default=300, gt=0, description="Longest video accepted, in seconds.")
    max_video_frames: int = Field(default=18_000, ge=1, description="Most frames a video may have.")
    max_video_output_pixels: int = Field(
        default=3840 * 2160, ge=1, description="Most pixels of one upscaled video frame (4K UHD)."
    )
    decode_memory_mb: int | None = Field(
        default=None, ge=1, description="Memory the API may spend checking uploads at once (unset: RAM/8)."
    )
    decode_concurrency: int | None = Field(
        default=None, ge=1, description="Uploads the API checks at once (unset: one per core, at least 2)."
    )

    job_soft_time_limit: int = Field(default=900, ge=1, description="Seconds before a running job fails.")
    job_lease_seconds: float = Field(
        default=60, gt=0, description="A running job's lease, renewed while alive."
    )
    job_max_attempts: int = Field(default=3, ge=1, description="Deliveries of one job before it is failed.")
    queue_redispatch_seconds: float = Field(
        default=300, gt=0, description="Re-send a job still queued after."
    )
    idempotency_ttl: int = Field(default=86400, ge=86400)
    session_ttl: int = Field(default=14 * 86400, ge=60)
    worker_concurrency: int = Field(default=1, ge=1)
    cpu_small_job_input_pixels: int = Field(
        default=128 * 128,
        ge=0,
        description="Inputs this small go to CPU workers even for GPU models (0: never).",
    )
    device: Literal["auto", "cpu", "cuda", "vulkan", "mps"] = Field(
        default="auto",
        description="Where a worker runs neural models: auto = CUDA, else MPS, else a Vulkan GPU, else CPU. "
        "A device named here that the machine lacks stops the worker at start.",
    )
    vulkan_device: int | None = Field(
        default=None,
        ge=0,
        description="The Vulkan device (its index in `mindrender devices`) a worker uses: one worker per "
        "GPU. Unset: a discrete GPU, else an integrated one, else (MR_DEVICE=vulkan) the first.",
    )
    engine_backend: Literal["auto", "torch", "ncnn"] = Field(
        default="auto",
        description="torch or ncnn for the models both run (Real-ESRGAN); auto = the faster on this device, "
        "by the measured figures in models/zoo.py.",
    )
    cpu_precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="Neural models on CPU: auto = bf16 where the CPU has it natively (AVX512-BF16, AMX), "
        "else fp32 (exact).",
    )

    secret_key: str | None = Field(default=None, description="Signs local download links; set it everywhere.")
    stripe_secret_key: str | None = Field(default=None, description="Unset: billing answers 503.")
    stripe_webhook_secret: str | None = Field(default=None, description="whsec_... of the Stripe endpoint.")
    stripe_api_base: str = Field(default="https://api.stripe.com", description="Stripe's API address.")
    billing_catalog: str | None = Field(
        default=None, description="JSON {plans: [...], packs: [...]} replacing the default catalog."
    )
    webhook_allow_private: bool = False
    webhook_retry_schedule: str = Field(
        default=DEFAULT_RETRY_SCHEDULE,
        pattern=r"^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$",
        description="Seconds to wait before each delivery attempt (Standard Webhooks schedule).",
    )
    webhook_poll_interval: float = Field(default=10, gt=0, description="Seconds between due-webhook scans.")
    webhook_redelivery_cooldown: int = Field(
        default=60, ge=1, description="Seconds before the same message may be redelivered by hand again."
    )
    webhook_redeliveries_per_hour: int = Field(
        default=100, ge=0, description="Manual redeliveries an hour per account (0: no limit)."
    )

    rate_limit_url: str | None = Field(
        default=None,
        description="redis:// URL for rate-limit counters shared by API replicas; unset: in memory.",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips; '*': any).",
    )
    rate_limit_per_ip: int = Field(default=1200, ge=0, description="Requests a minute per address (0: off).")
    rate_limit_per_account: int = Field(default=1200, ge=0, description="Requests a minute per account.")
    job_submissions_per_minute: int = Field(default=300, ge=0, description="Jobs a minute per account.")
    signups_per_ip_per_hour: int = Field(default=20, ge=0)
    signup_credit_grants_per_ip_per_day: int = Field(
        default=5, ge=0, description="Accounts a day per address that get the free signup credits."
    )
    login_failures_per_15_minutes: int = Field(
        default=10, ge=1, description="Per address and email; x5 per address, x10 per email."
    )

    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="json: one object per line; text; auto: text on a terminal, else json."
    )
    log_level: str = "INFO"
    metrics_token: str | None = Field(
        default=None, description="If set, /metrics needs it as a Bearer token."
    )

    api_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'mindrender.db'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        """Folder of the serverless filesystem broker used by the embedded default."""
        return self.data_dir / "broker"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir / "storage").as_uri()

    @property
    def resolved_s3_public_endpoint_url(self) -> str | None:
        """The S3 endpoint clients reach, that links are signed for (None: AWS's own, per bucket)."""
        return self.s3_public_endpoint_url or self.s3_endpoint_url

    @property
    def resolved_models_dir(self) -> Path:
        return (self.models_dir or self.data_dir / "models").expanduser().resolve()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
