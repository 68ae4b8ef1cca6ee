"""Alembic environment: the database URL comes from MR_ settings unless the caller set one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import app.accounts.models
import app.billing.models
import app.credits.models
import app.estimates.models
import app.jobs.models
import app.totals.models
import app.webhooks.models  # noqa: F401  (register every table on the metadata)
from app.config import get_settings
from app.db import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
config.set_main_option("sqlalchemy.url", url)


def run_migrations() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
