"""Counters kept in the database, added to in the same transaction as the event they count.

A job that ends, a charge, a refund, a webhook message: each adds to a few rows of `metric_totals` in the
unit of work that makes the change, so the totals are exact (a rolled-back change counts nothing) and the
same whichever API replica is scraped, whichever worker on whichever machine did the work. /metrics reads
these few rows, never the jobs or ledger tables (which at 2 million jobs took 0.8-2.7 s a scrape).

Each counter is kept in `SHARDS` rows, and a unit of work adds to one of them, each unit of a process to
the next (from a random start, so two processes do not keep the same pace): an upsert
holds its row's lock until the commit, so with one row per counter every submission in the service waited
for the previous one's commit to add to `credits_charged` (bench/api_load.py: submissions at 0.5x of the
rate before the totals, Postgres backends waiting on each other's transactions). Reading sums the shards.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections import defaultdict

from sqlalchemy import Executable, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.totals.models import MetricTotal

# Job run times (seconds): each job adds 1 to the one bucket it falls in; /metrics makes them cumulative.
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


SHARDS = 32
_SHARD = "metric_totals_shard"
_next_shard = itertools.count(random.randrange(SHARDS))
# A shard's rows carry `#N` after their labels; shard 0's rows have none (the rows migration 0009 wrote).
_SHARD_MARK = "#"


def _key(labels: dict[str, str]) -> str:
    return ",".join(f"{name}={value}" for name, value in sorted(labels.items()))


def _shard_of(session: Session) -> int:
    """This unit of work's shard, the same for all its counters (so it never waits on two rows of one)."""
    shard: int | None = session.info.get(_SHARD)
    if shard is None:
        shard = session.info[_SHARD] = next(_next_shard) % SHARDS
    return shard


def _unsharded(stored: str) -> str:
    key, mark, shard = stored.rpartition(_SHARD_MARK)
    return key if mark and shard.isdigit() else stored


def parse_labels(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(",") if part)


@functools.cache
def _upsert(dialect_name: str) -> Executable:
    """The upsert `add` runs, built once per dialect: making and keying it anew at every charge cost about
    as much of the API's CPU as running it (bench/api_load.py)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = MetricTotal.__table__
    statement = dialect.insert(table).values(
        name=bindparam("name"), labels=bindparam("labels"), value=bindparam("value")
    )
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=[table.c.name, table.c.labels],
        set_={"value": table.c.value + statement.excluded.value},
    )
    return upsert


def add(session: Session, name: str, amount: float, **labels: str) -> None:
    """Add to a counter in this unit of work (one upsert: a row per counter and label set)."""
    if not amount:
        return
    shard = _shard_of(session)
    key = _key(labels) + (f"{_SHARD_MARK}{shard}" if shard else "")
    upsert = _upsert(session.get_bind().dialect.name)
    session.execute(upsert, {"name": name, "labels": key, "value": amount})


def observe_duration(session: Session, model: str, seconds: float) -> None:
    """A succeeded job's run time, for the duration histogram."""
    bucket = next((str(bound) for bound in DURATION_BUCKETS if seconds <= bound), "+Inf")
    add(session, "job_duration_seconds_bucket", 1, model=model, le=bucket)
    add(session, "job_duration_seconds_sum", seconds, model=model)


def read_totals(session: Session) -> list[tuple[str, dict[str, str], float]]:
    """Each counter's value per label set, its shards summed."""
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for name, labels, value in session.execute(
        select(MetricTotal.name, MetricTotal.labels, MetricTotal.value)
    ):
        sums[name, _unsharded(labels)] += float(value)
    return [(name, parse_labels(labels), value) for (name, labels), value in sums.items()]
