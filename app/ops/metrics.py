"""Prometheus metrics: HTTP traffic counted in-process; job, credit and queue figures read from the database.

Job and credit figures come from the database at scrape time, not from worker processes: they are then
the same whichever API replica is scraped and however many workers on however many machines did the work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.credits.models import EntryKind, LedgerEntry
from app.jobs.models import Job, JobStatus
from app.webhooks.models import WebhookAttempt, WebhookMessage

JOB_DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


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


def _duration_seconds(dialect: str) -> ColumnElement[float]:
    """A job's run time in seconds, in the database's own date arithmetic."""
    if dialect == "sqlite":
        return (func.julianday(Job.finished_at) - func.julianday(Job.started_at)) * 86400.0
    return cast(func.extract("epoch", Job.finished_at - Job.started_at), Float)


class DatabaseCollector(Collector):
    """Jobs by status and model, queue depth, job durations, megapixels, credits: read at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        with self._sessions() as session:
            yield from self._jobs(session)
            yield self._durations(session)
            yield from self._credits(session)
            yield from self._webhooks(session)

    def _jobs(self, session: Session) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        jobs = GaugeMetricFamily("mindrender_jobs", "Jobs by status and model.", labels=["status", "model"])
        for status, model, count in session.execute(
            select(Job.status, Job.model, func.count()).group_by(Job.status, Job.model)
        ):
            jobs.add_metric([status, model], count)
        yield jobs
        depth = GaugeMetricFamily("mindrender_queue_depth", "Jobs waiting for a worker.", labels=["queue"])
        for queue in ("gpu", "cpu"):
            waiting = session.scalar(
                select(func.count()).where(Job.status == JobStatus.QUEUED, Job.queue == queue)
            )
            depth.add_metric([queue], waiting or 0)
        yield depth
        pixels = CounterMetricFamily(
            "mindrender_megapixels_processed", "Output megapixels of succeeded jobs.", labels=["model"]
        )
        done = Job.status.in_((JobStatus.SUCCEEDED, JobStatus.EXPIRED))
        output_pixels = cast(Job.output_width, Float) * Job.output_height
        for model, total in session.execute(
            select(Job.model, func.sum(output_pixels)).where(done).group_by(Job.model)
        ):
            pixels.add_metric([model], float(total or 0) / 1e6)
        yield pixels

    def _durations(self, session: Session) -> HistogramMetricFamily:
        duration = _duration_seconds(session.get_bind().dialect.name)
        columns = [func.sum(case((duration <= bound, 1), else_=0)) for bound in JOB_DURATION_BUCKETS]
        query = (
            select(Job.model, func.count(), func.sum(duration), *columns)
            .where(Job.status.in_((JobStatus.SUCCEEDED, JobStatus.EXPIRED)), Job.started_at.is_not(None))
            .group_by(Job.model)
        )
        family = HistogramMetricFamily(
            "mindrender_job_duration_seconds", "Run time of succeeded jobs.", labels=["model"]
        )
        for model, count, total, *cumulative in session.execute(query):
            buckets = [(str(b), int(c or 0)) for b, c in zip(JOB_DURATION_BUCKETS, cumulative, strict=True)]
            family.add_metric([model], [*buckets, ("+Inf", int(count))], float(total or 0))
        return family

    def _credits(self, session: Session) -> Iterable[CounterMetricFamily]:
        rows = session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.kind.in_((EntryKind.JOB_HOLD, EntryKind.JOB_REFUND)))
            .group_by(LedgerEntry.kind)
        )
        sums = {kind: int(total or 0) for kind, total in rows}
        yield CounterMetricFamily(
            "mindrender_credits_charged",
            "Credits reserved by accepted jobs.",
            -sums.get(EntryKind.JOB_HOLD, 0),
        )
        yield CounterMetricFamily(
            "mindrender_credits_refunded",
            "Credits given back for failed or canceled jobs.",
            sums.get(EntryKind.JOB_REFUND, 0),
        )

    def _webhooks(self, session: Session) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        messages = GaugeMetricFamily(
            "mindrender_webhook_messages", "Webhook messages by event and status.", labels=["event", "status"]
        )
        for event, status, count in session.execute(
            select(WebhookMessage.event_type, WebhookMessage.status, func.count()).group_by(
                WebhookMessage.event_type, WebhookMessage.status
            )
        ):
            messages.add_metric([event, status], count)
        yield messages
        attempts = CounterMetricFamily(
            "mindrender_webhook_attempts", "Webhook delivery attempts by outcome.", labels=["outcome"]
        )
        ok = WebhookAttempt.status_code.between(200, 299)
        outcome = case(
            (ok, "success"), (WebhookAttempt.status_code.is_(None), "no_response"), else_="http_error"
        )
        for name, count in session.execute(select(outcome, func.count()).group_by(outcome)):
            attempts.add_metric([name], count)
        yield attempts
