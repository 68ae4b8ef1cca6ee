"""Request and response bodies of the accounts API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator


class Credentials(BaseModel):
    email: str = Field(max_length=320, examples=["ada@example.com"])
    password: str = Field(min_length=8, max_length=200)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        value = value.strip().lower()
        local, _, domain = value.partition("@")
        malformed = not value.isprintable() or " " in value
        if malformed or not local or "." not in domain or domain.startswith("."):
            raise ValueError("not a valid email address")
        return value


class AccountCreated(BaseModel):
    id: str
    email: str
    api_key: str = Field(description="Shown once; store it now.")


class AccountOut(BaseModel):
    id: str
    email: str
    plan: str
    credits_balance: int
    credits_low_threshold: int | None = Field(
        description="A `credits.low` webhook event is sent when the balance falls below this."
    )


class AccountUpdate(BaseModel):
    credits_low_threshold: int | None = Field(ge=0, le=10_000_000, description="null: no low-balance event.")


class ApiKeyCreate(BaseModel):
    name: str = Field(default="default", min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isprintable():
            raise ValueError("must not contain control characters")
        return value


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once; store it now.")


class SessionOut(BaseModel):
    account_id: str
    email: str
