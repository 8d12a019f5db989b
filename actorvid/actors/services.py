"""What every actor of the tree is given: options and shared services (constructor arguments,
no globals)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from actorvid.actors.pipeline import JobPipeline
from actorvid.actors.pools import WorkPool
from actorvid.actors.ratelimit import CreateLimiter
from actorvid.actors.supervision_policy import RestartIntensity
from actorvid.actors.timers import Scheduler
from actorvid.clock import Clock, IdFactory, isoformat_z, new_uuid, utc_now
from actorvid.config import Settings
from actorvid.metrics import NO_METRICS, PredictionEvents
from actorvid.providers.base import PredictionService
from actorvid.store.db import Database


@dataclass(frozen=True)
class RuntimeOptions:
    """Tunables of the actor runtime; :meth:`from_settings` takes what ``Settings`` has."""

    scene_concurrency: int = 10
    media_workers: int = 2
    io_workers: int = 4
    # Polling a prediction: first delay, growth, cap, floor (full jitter in between).
    poll_first: float = 2.0
    poll_factor: float = 2.0
    poll_max: float = 30.0
    poll_min: float = 0.5
    poll_deadline: float = 30 * 60.0
    # Restart intensity at each level of the tree; restarts back off from 0.25 s, doubling.
    root_intensity: RestartIntensity = field(
        default_factory=lambda: RestartIntensity(3, 60.0, backoff=0.25))
    job_intensity: RestartIntensity = field(
        default_factory=lambda: RestartIntensity(3, 60.0, backoff=0.25))
    scene_intensity: RestartIntensity = field(
        default_factory=lambda: RestartIntensity(3, 60.0, backoff=0.25))
    shutdown_timeout: float = 10.0
    # A scene whose prediction fails is created again, up to this many predictions in all.
    max_attempts: int = 3
    # Creates of every job together: the provider's rate limit, and a small burst.
    creates_per_minute: int = 600
    create_burst: int = 5
    # Downloaded clips copied into SQLite at once, of every job together. Each copy holds a
    # 1 MiB chunk buffer while it waits for the database's one writer lock, so 300 scenes
    # finishing together held 300 MiB to gain nothing: the writes take turns anyway.
    clip_stores: int = 2

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RuntimeOptions:
        base = cls(scene_concurrency=settings.scene_concurrency,
                   media_workers=settings.media_workers,
                   max_attempts=settings.scene_max_attempts,
                   poll_first=settings.poll_first_seconds,
                   poll_max=max(settings.poll_max_seconds, settings.poll_first_seconds),
                   poll_min=min(cls.poll_min, settings.poll_first_seconds),
                   creates_per_minute=settings.replicate_creates_per_minute)
        return replace(base, **overrides)


@dataclass(frozen=True)
class Services:
    db: Database
    # Who makes each kind of sub-job's prediction: "clip" (video) and "music" (soundtrack).
    providers: Mapping[str, PredictionService]
    pipelines: Mapping[str, JobPipeline]
    scheduler: Scheduler
    media_pool: WorkPool
    io_pool: WorkPool
    options: RuntimeOptions
    limiter: CreateLimiter
    # Time and ids come from here, never from the globals, so tests can choose them.
    clock: Clock = utc_now
    new_id: IdFactory = new_uuid
    # Prediction creates, failures and retries, counted for GET /metrics.
    metrics: PredictionEvents = NO_METRICS
    # Previews (issue 19): what renders them (an ``actors.preview.PreviewRenderer``; None: no
    # previews in this tree) and the pool they run on, apart from the finish steps' pool.
    previews: Any = None
    preview_pool: WorkPool | None = None
    # Turns at copying a downloaded clip into SQLite (``RuntimeOptions.clip_stores``).
    clip_stores: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(RuntimeOptions.clip_stores))

    def pipeline_for(self, job_type: str) -> JobPipeline | None:
        return self.pipelines.get(job_type)

    def provider_for(self, sub_kind: str) -> PredictionService:
        return self.providers[sub_kind]

    def now(self) -> str:
        """The current time as the rows store it (ISO-8601 UTC with a ``Z``)."""
        return isoformat_z(self.clock())
