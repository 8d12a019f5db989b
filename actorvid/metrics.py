"""Metrics for ``GET /metrics`` (Prometheus text format), one registry per app.

Tests build many apps in one process, so nothing here touches ``prometheus_client``'s global
registry. Two kinds of numbers:

- **Events**, counted where they happen: prediction creates, failures and retries (the
  SceneActor calls :class:`PredictionEvents`; the actor tree gets a no-op unless an app
  wires a :class:`Metrics` in), and every HTTP request by route template, method and status
  (``actorvid/api/metrics.py``).
- **State**, read at scrape time by :class:`StateCollector`: jobs by status and sub-jobs in
  flight from the database, the create limiter's tokens and pauses, the ffmpeg slots, blob
  bytes and the database's size. Nothing has to be kept in step with the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actorvid.store import stats
from actorvid.store.db import Database
from actorvid.store.jobs import JOB_STATUSES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Request latency buckets (seconds): API answers are milliseconds, URL imports up to minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class PredictionEvents(Protocol):
    """What a SceneActor reports; ``model`` is ``veo3``, ``hailuo`` or ``musicgen``."""

    def prediction_created(self, model: str) -> None: ...
    def prediction_failed(self, model: str) -> None: ...
    def prediction_retried(self, model: str) -> None: ...


class NoMetrics:
    """The default: an actor tree without an app counts nothing."""

    def prediction_created(self, model: str) -> None:
        pass

    def prediction_failed(self, model: str) -> None:
        pass

    def prediction_retried(self, model: str) -> None:
        pass


NO_METRICS = NoMetrics()


@dataclass(frozen=True)
class LimiterState:
    tokens: float
    paused_seconds: float
    pauses: int


@dataclass(frozen=True)
class StateSources:
    """Where the scrape-time numbers come from; a source that is absent (no actor system,
    no media slots) leaves its metrics out."""

    db: Database
    limiter: Callable[[], LimiterState | None] = lambda: None
    media_busy: Callable[[], tuple[int, int] | None] = lambda: None  # (busy, waiting)


class StateCollector(Collector):
    """Gauges read when Prometheus scrapes (a custom collector)."""

    def __init__(self, sources: StateSources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        with self.sources.db.read() as conn:
            by_status = stats.jobs_by_status(conn)
            in_flight = stats.sub_jobs_in_flight(conn)
            blob_bytes = stats.blob_bytes(conn)
            db_bytes = stats.database_bytes(conn)
        jobs = GaugeMetricFamily("actorvid_jobs", "Jobs by status", labels=["status"])
        for status in JOB_STATUSES:
            jobs.add_metric([status], by_status.get(status, 0))
        yield jobs
        scenes = GaugeMetricFamily("actorvid_scenes_in_flight",
                                   "Sub-jobs with a prediction being made, by kind",
                                   labels=["kind"])
        for kind in ("clip", "music"):
            scenes.add_metric([kind], in_flight.get(kind, 0))
        yield scenes
        yield GaugeMetricFamily("actorvid_blob_bytes", "Bytes of stored binaries",
                                value=blob_bytes)
        yield GaugeMetricFamily("actorvid_database_bytes",
                                "Size of the SQLite database file (pages)", value=db_bytes)
        yield from self._limiter()
        yield from self._media()

    def _limiter(self) -> Iterator[Metric]:
        state = self.sources.limiter()
        if state is None:
            return
        yield GaugeMetricFamily("actorvid_create_limiter_tokens",
                                "Prediction creates available now (token bucket)",
                                value=state.tokens)
        yield GaugeMetricFamily("actorvid_create_limiter_paused_seconds",
                                "Seconds left of a provider 429 pause of every create",
                                value=state.paused_seconds)
        yield CounterMetricFamily("actorvid_create_limiter_pauses",
                                  "Pauses of every create after a provider 429",
                                  value=state.pauses)

    def _media(self) -> Iterator[Metric]:
        found = self.sources.media_busy()
        if found is None:
            return
        busy, waiting = found
        yield GaugeMetricFamily("actorvid_media_slots_busy", "ffmpeg processes running",
                                value=busy)
        yield GaugeMetricFamily("actorvid_media_slots_waiting",
                                "Callers waiting for an ffmpeg slot", value=waiting)


class Metrics:
    """One app's metrics: its own registry, the event counters, and the state collector."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["model"]
        self._created = Counter("actorvid_predictions_created", "Predictions created",
                                labels, registry=self.registry)
        self._failed = Counter("actorvid_predictions_failed",
                               "Predictions that failed (or whose create was refused)",
                               labels, registry=self.registry)
        self._retried = Counter("actorvid_predictions_retried",
                                "Predictions created again after a failure or a loss",
                                labels, registry=self.registry)
        self.requests = Histogram("actorvid_http_request_duration_seconds",
                                  "HTTP requests by route template, method and status",
                                  ["route", "method", "status"], registry=self.registry,
                                  buckets=LATENCY_BUCKETS)

    def prediction_created(self, model: str) -> None:
        self._created.labels(model).inc()

    def prediction_failed(self, model: str) -> None:
        self._failed.labels(model).inc()

    def prediction_retried(self, model: str) -> None:
        self._retried.labels(model).inc()

    def watch(self, sources: StateSources) -> None:
        """Read these sources at every scrape (once per app)."""
        self.registry.register(StateCollector(sources))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
