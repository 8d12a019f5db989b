"""The fake Replicate itself: its state, the Python control API tests drive it with, and
the prediction lifecycle computed from elapsed time (see the package docstring)."""

from __future__ import annotations

import base64
import logging
import math
import secrets
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from tests.fakes.media import MediaCache
from tests.fakes.replicate.app import build_app
from tests.fakes.replicate.clips import make_output
from tests.fakes.replicate.journal import Journal
from tests.fakes.replicate.models import REGISTRY, ModelSpec, cross_field_problem
from tests.fakes.replicate.predictions import (
    TERMINAL,
    FakePrediction,
    Fault,
    Outcome,
    iso,
    new_id,
    status_body,
)
from tests.fakes.replicate.webhooks import WebhookSender
from tests.fakes.server import LoopbackFake, LoopbackServer

logger = logging.getLogger(__name__)


class FakeReplicate(LoopbackFake):
    """State and control API of one fake Replicate server; ``api_url`` is what to configure
    as ``replicate_base_url``."""

    def __init__(self, *, time_scale: float = 0.01, tokens: tuple[str, ...] = ("r8_test",),
                 workdir: Path | None = None, cross_field: str = "422") -> None:
        self.time_scale = time_scale
        self.tokens = set(tokens)
        self.cross_field = cross_field  # "422" or "failed"
        self.timing: dict[str, tuple[float, float]] = {}  # model -> (queue, run) simulated s
        self.retention = 3600.0  # simulated seconds an output lives
        # Serve clips already in the output format (see clips.conforming_clip) instead of the
        # small 12 fps ones.
        self.conforming_clips = False
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        # Real seconds between delivery attempts.
        self.webhook_retry_delays: tuple[float, ...] = (0.05, 0.2, 0.5)
        self.webhook_bad_signature = False
        self.webhook_stale_timestamp = False
        self.deliveries: list[dict[str, Any]] = []
        self.predictions: dict[str, FakePrediction] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.outcomes: deque[Outcome] = deque()
        self.rate_limits = {"create": (600.0, 600.0), "other": (3000.0, 3000.0)}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.journal = Journal(self.all_predictions)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-replicate-", dir=workdir)
        self.root = Path(self._tmp.name)
        self.media = MediaCache(self.root / "cache")
        (self.root / "out").mkdir()
        (self.root / "files").mkdir()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fake-replicate-media")
        self.webhooks = WebhookSender(self)
        # Replicate takes as many connections as its clients open (each of our scene threads
        # keeps its own); waitress's default of 100 would make the 101st wait in the backlog
        # until an idle one times out, which Replicate never does.
        self.server = LoopbackServer(build_app(self), name="fake-replicate",
                                     connection_limit=2000)

    # lifecycle
    def start(self) -> Self:
        super().start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()
        super().stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._tmp.cleanup()

    @property
    def token(self) -> str:
        return next(iter(sorted(self.tokens)))

    # control
    def inject(self, route: str, kind: str = "status", **kwargs: Any) -> Fault:
        fault = Fault(route=route, kind=kind, **kwargs)
        if kind == "status" and fault.body is None:
            fault.body = status_body(fault.status)
            if fault.status == 429:
                fault.headers.setdefault("Retry-After", str(fault.body["retry_after"]))
        with self.lock:
            self.faults.append(fault)
        return fault

    def next_outcome(self, status: str, error: str | None = None,
                     model: str | None = None) -> None:
        """The next created prediction (of ``model``, if given) ends this way."""
        if status == "failed" and error is None:
            error = "The input or output was flagged as sensitive. (E005)"
        with self.lock:
            self.outcomes.append(Outcome(status, error, model))

    def set_timing(self, model: str, *, queue: float, run: float) -> None:
        """Simulated seconds a model waits in the queue and runs."""
        with self.lock:
            self.timing[model] = (queue, run)

    def set_rate_limit(self, route: str, per_minute: float, burst: float) -> None:
        with self.lock:
            self.rate_limits[route] = (per_minute, burst)
            self._buckets.clear()

    def expire(self, prediction_id: str | None = None) -> None:
        """Purge outputs now (one prediction, or all)."""
        with self.lock:
            for pred in self.all_predictions():
                if prediction_id in (None, pred.id):
                    self._purge(pred)

    def all_predictions(self) -> list[FakePrediction]:
        with self.lock:
            return list(self.predictions.values())

    def prediction(self, prediction_id: str) -> FakePrediction:
        with self.lock:
            pred = self.predictions[prediction_id]
            self.refresh(pred)
            return pred

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.02))
        return True

    def unstick(self) -> None:
        """Predictions held by a ``stuck`` outcome go on from now: they queue, run and
        succeed as a new one would (a provider that was slow, not broken)."""
        now = time.monotonic()
        with self.lock:
            held = [p for p in self.predictions.values()
                    if p.outcome.status == "stuck" and p.status not in TERMINAL]
            for pred in held:
                queue, run = self._timing(pred.model)
                pred.queue = now - pred.created + queue * self.time_scale
                pred.run = run * self.time_scale
                pred.outcome = Outcome()
            self.changed.notify_all()
        for pred in held:
            self._pool.submit(self._make_output, pred)

    def finish_now(self, prediction_id: str) -> None:
        """End a running prediction's run now: a test that must see it ``processing`` holds
        it there with a long run (:meth:`set_timing`), then lets it finish."""
        with self.lock:
            pred = self.predictions[prediction_id]
            pred.run = max(0.0, time.monotonic() - pred.created - pred.queue)
            self.changed.notify_all()

    def _timing(self, model: str) -> tuple[float, float]:
        """Simulated (queue, run) seconds of ``model``: :meth:`set_timing`'s or its own."""
        spec = REGISTRY[model]
        return self.timing.get(model, (spec.queue, spec.run))

    # faults and rate limiting (called by the app)
    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.route in (route, "any"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def throttle(self, token: str, route: str) -> int | None:
        """Token bucket per token; seconds to wait when empty, else None (and a token taken)."""
        kind = "create" if route == "create" else "other"
        per_minute, burst = self.rate_limits[kind]
        now = time.monotonic()
        with self.lock:
            tokens, last = self._buckets.get((token, kind), (burst, now))
            tokens = min(burst, tokens + (now - last) * per_minute / 60.0)
            if tokens < 1:
                self._buckets[(token, kind)] = (tokens, now)
                return max(1, math.ceil((1 - tokens) * 60.0 / per_minute))
            self._buckets[(token, kind)] = (tokens - 1, now)
        return None

    # predictions
    def create(self, spec: ModelSpec, version: str, data: dict[str, Any], *, tag: str,
               webhook: str | None, events: list[str] | None, cancel_after: float | None
               ) -> FakePrediction:
        now = time.monotonic()
        with self.lock:
            outcome = Outcome()
            for candidate in list(self.outcomes):
                if candidate.model in (None, spec.name):
                    self.outcomes.remove(candidate)
                    outcome = candidate
                    break
            problem = cross_field_problem(spec.name, data)
            if problem and outcome.status == "succeeded":
                outcome = Outcome("failed", problem)
            queue, run = self._timing(spec.name)
            pred = FakePrediction(
                id=new_id(), model=spec.name, version=version, input=data, created=now,
                created_wall=datetime.now(UTC), queue=queue * self.time_scale,
                run=run * self.time_scale, outcome=outcome, tag=tag, webhook=webhook,
                events=tuple(events) if events else ("start", "output", "logs", "completed"))
            if cancel_after is not None:
                pred.deadline = now + cancel_after * self.time_scale
                pred.deadline_wall = pred.created_wall + timedelta(seconds=cancel_after)
            self.predictions[pred.id] = pred
            self.changed.notify_all()
        if outcome.status == "succeeded":
            self._pool.submit(self._make_output, pred)
        return pred

    def _make_output(self, pred: FakePrediction) -> None:
        try:
            dest = make_output(self.media, pred.model, pred.input, self.root / "out" / pred.id,
                               conforming=self.conforming_clips)
            with self.lock:
                pred.output_name, pred.output_path = dest.name, dest
        except Exception as exc:  # a broken fake must show up as a failed prediction
            logger.exception("fake output for %s failed", pred.id)
            pred.output_failed = str(exc)
        finally:
            pred.output_ready.set()
            with self.changed:
                self.changed.notify_all()

    def refresh(self, pred: FakePrediction) -> None:
        """Bring ``pred`` up to date with the clock (call with the lock held)."""
        now = time.monotonic()
        if pred.status in TERMINAL:
            if not pred.data_removed and pred.completed is not None and \
                    now - pred.completed >= self.retention * self.time_scale:
                self._purge(pred)
            return
        t_start = pred.created + pred.queue
        t_end = t_start + pred.run
        if pred.outcome.status == "stuck":
            t_start = t_end = math.inf
        if pred.deadline is not None and pred.deadline <= now and pred.deadline < t_end:
            if pred.deadline < t_start:
                self._finish(pred, "aborted", pred.deadline, error=None)
            else:
                pred.started = t_start
                self._finish(pred, "canceled", pred.deadline, error=None)
            return
        if now >= t_start and pred.started is None:
            pred.started = t_start
            pred.status = "processing"
            pred.logs = "Starting prediction\n"
        if now >= t_end:
            outcome = pred.outcome
            if outcome.status == "succeeded":
                if not pred.output_ready.is_set():
                    return  # the file is still being made: stay processing
                if pred.output_failed:
                    self._finish(pred, "failed", t_end, error=pred.output_failed)
                    return
                pred.logs += "Generated output\n"
                self._finish(pred, "succeeded", t_end, error=None)
            elif outcome.status == "aborted":
                pred.started = None
                self._finish(pred, "aborted", t_start, error=None)
            else:
                self._finish(pred, outcome.status, t_end, error=outcome.error)

    def _finish(self, pred: FakePrediction, status: str, when: float, *, error: str | None
                ) -> None:
        pred.status = status
        pred.completed = when
        pred.outcome = Outcome(status, error)
        self.changed.notify_all()

    def cancel(self, pred: FakePrediction) -> None:
        with self.lock:
            self.refresh(pred)
            if pred.status not in TERMINAL:
                self._finish(pred, "canceled", time.monotonic(), error=None)

    def _purge(self, pred: FakePrediction) -> None:
        if pred.status in TERMINAL:
            pred.data_removed = True
            pred.logs = ""
            if pred.output_path is not None:
                pred.output_path.unlink(missing_ok=True)

    def to_json(self, pred: FakePrediction) -> dict[str, Any]:
        base = self.api_url
        wall = pred.created_wall

        def at(mono: float | None) -> str | None:
            return None if mono is None else iso(wall + timedelta(seconds=(
                mono - pred.created) / self.time_scale if self.time_scale else 0))

        output = None
        if pred.status == "succeeded" and not pred.data_removed and pred.output_path is not None:
            output = f"{self.url}/delivery/{pred.id}/{pred.output_name}"
        body: dict[str, Any] = {
            "id": pred.id, "model": pred.model, "version": pred.version,
            "input": {} if pred.data_removed else pred.input,
            "logs": pred.logs, "output": output, "data_removed": pred.data_removed,
            "error": pred.outcome.error if pred.status == "failed" else None,
            "status": pred.status, "created_at": iso(wall), "source": pred.source,
            "urls": {"get": f"{base}/predictions/{pred.id}",
                     "cancel": f"{base}/predictions/{pred.id}/cancel",
                     "web": f"https://replicate.com/p/{pred.id}"},
        }
        if pred.started is not None:
            body["started_at"] = at(pred.started)
        if pred.completed is not None:
            body["completed_at"] = at(pred.completed)
            predict = 0.0 if pred.started is None else (pred.completed - pred.started)
            body["metrics"] = {"predict_time": round(predict / self.time_scale, 3),
                               "total_time": round((pred.completed - pred.created)
                                                   / self.time_scale, 3)}
        if pred.deadline_wall is not None:
            body["deadline"] = iso(pred.deadline_wall)
        if pred.webhook:
            body["webhook"] = pred.webhook
            body["webhook_events_filter"] = list(pred.events)
        return body
