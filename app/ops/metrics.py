"""Prometheus metrics: HTTP traffic counted in-process; job, credit and webhook figures from the database.

Job, credit and webhook counters are totals kept in the database (app/totals/service.py), added to in the same
transaction as each event: the same whichever API replica is scraped and whichever worker did the work,
and read without scanning any big table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs.models import Job, JobStatus
from app.totals.service import DURATION_BUCKETS, read_totals
from app.webhooks.models import MessageStatus, WebhookMessage


class HttpMetrics:
    """Request count and latency by method, route template and status."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "mindrender_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "mindrender_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class DatabaseCollector(Collector):
    """Counters from `metric_totals` (app/totals/service.py) and gauges from indexed counts of active rows.

    Nothing here scans the jobs, ledger or webhook tables: the totals are a few rows, and the gauges count
    only queued/running jobs and undelivered messages, through the indexes that lead with `status`.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        with self._sessions() as session:
            totals = read_totals(session)
            yield from self._active(session)
        yield from _counters(totals)
        yield _durations(totals)

    def _active(self, session: Session) -> Iterable[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "mindrender_jobs", "Queued and running jobs by model.", labels=["status", "model"]
        )
        depth = GaugeMetricFamily("mindrender_queue_depth", "Jobs waiting for a worker.", labels=["queue"])
        waiting = dict.fromkeys(("gpu", "cpu"), 0)
        for status, model, queue, count in session.execute(
            select(Job.status, Job.model, Job.queue, func.count())
            .where(Job.status.in_(JobStatus.ACTIVE))
            .group_by(Job.status, Job.model, Job.queue)
        ):
            jobs.add_metric([status, model], count)
            if status == JobStatus.QUEUED:
                waiting[queue] = waiting.get(queue, 0) + count
        for queue, count in waiting.items():
            depth.add_metric([queue], count)
        yield jobs
        yield depth
        messages = GaugeMetricFamily(
            "mindrender_webhook_messages", "Undelivered webhook messages.", labels=["event", "status"]
        )
        for event, status, count in session.execute(
            select(WebhookMessage.event_type, WebhookMessage.status, func.count())
            .where(WebhookMessage.status.in_((MessageStatus.PENDING, MessageStatus.DELIVERING)))
            .group_by(WebhookMessage.event_type, WebhookMessage.status)
        ):
            messages.add_metric([event, status], count)
        yield messages


# Counter families read from the totals: (total's name, metric name, help, label names).
_COUNTERS: tuple[tuple[str, str, str, list[str]], ...] = (
    (
        "jobs_finished",
        "mindrender_jobs_finished",
        "Jobs that ended, by final status and model.",
        ["status", "model"],
    ),
    (
        "megapixels_processed",
        "mindrender_megapixels_processed",
        "Output megapixels of succeeded jobs.",
        ["model"],
    ),
    ("credits_charged", "mindrender_credits_charged", "Credits reserved by accepted jobs.", []),
    (
        "credits_refunded",
        "mindrender_credits_refunded",
        "Credits given back for failed or canceled jobs.",
        [],
    ),
    (
        "webhook_messages_finished",
        "mindrender_webhook_messages_finished",
        "Webhook messages delivered or given up, by event.",
        ["event", "status"],
    ),
    ("webhook_attempts", "mindrender_webhook_attempts", "Webhook delivery attempts by outcome.", ["outcome"]),
)


def _counters(totals: list[tuple[str, dict[str, str], float]]) -> Iterable[CounterMetricFamily]:
    for total, name, documentation, labels in _COUNTERS:
        family = CounterMetricFamily(name, documentation, labels=labels)
        for found, values, value in totals:
            if found == total:
                family.add_metric([values.get(label, "") for label in labels], value)
        if not labels and not family.samples:
            family.add_metric([], 0.0)
        yield family


def _durations(totals: list[tuple[str, dict[str, str], float]]) -> HistogramMetricFamily:
    """The run-time histogram: each job counted in one bucket (app/totals/), made cumulative here."""
    per_model: dict[str, dict[str, float]] = defaultdict(dict)
    sums: dict[str, float] = defaultdict(float)
    for name, labels, value in totals:
        if name == "job_duration_seconds_bucket":
            per_model[labels["model"]][labels["le"]] = value
        elif name == "job_duration_seconds_sum":
            sums[labels["model"]] += value
    family = HistogramMetricFamily(
        "mindrender_job_duration_seconds", "Run time of succeeded jobs.", labels=["model"]
    )
    for model, counts in per_model.items():
        running, buckets = 0.0, []
        for bound in (*map(str, DURATION_BUCKETS), "+Inf"):
            running += counts.get(bound, 0.0)
            buckets.append((bound, running))
        family.add_metric([model], buckets, sums[model])
    return family
