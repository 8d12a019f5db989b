"""A fake Replicate predictions API over real HTTP (falcon + waitress on loopback).

Follows ``reference/external_apis.md`` §1 and §4.1. Time is scaled: model timings, ``Prefer:
wait``, ``Cancel-After`` and output retention are in simulated seconds and multiplied by
``time_scale`` (real seconds per simulated second). State is computed lazily from elapsed time,
so a GET always sees a consistent lifecycle; only webhooks need the ticker thread.

Control from Python (``FakeReplicate`` methods) or over HTTP (``/__fake__/...``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import math
import re
import secrets
import string
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import falcon
import requests

from actorvid.domain.models import MUSICGEN_VERSION
from actorvid.webhooks import sign_webhook
from tests.fakes.media import MediaCache, make_audio, make_video
from tests.fakes.server import LoopbackServer

logger = logging.getLogger(__name__)

OLD_MUSICGEN_VERSION = "b05b1dff1d8c6dc63d14b0cdb42135378dcb87f6373b0d3d341ede46e59e2b38"
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}
PREFER_RE = re.compile(r"^wait(=([1-9]|[1-9][0-9]|60))?$")
DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_cancel_after(value: str) -> float | None:
    """Seconds of a ``Cancel-After`` value (``90``, ``30s``, ``5m``, ``1h30m45s``) or None."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    match = DURATION_RE.match(value)
    if not match or not any(match.groups()):
        return None
    h, m, s = (int(g) if g else 0 for g in match.groups())
    return float(h * 3600 + m * 60 + s)


# --- model registry (data) ---------------------------------------------------------------------

URI = "uri"


@dataclass(frozen=True)
class Field:
    type: str  # string | integer | number | boolean | uri | array
    required: bool = False
    enum: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str  # owner/name
    official: bool
    versions: tuple[str, ...]
    fields: dict[str, Field]
    output: str  # "video" | "audio"
    queue: float = 2.0  # simulated seconds
    run: float = 20.0


REGISTRY: dict[str, ModelSpec] = {
    "google/veo-3.1": ModelSpec("google/veo-3.1", True, (), {
        "prompt": Field("string", required=True),
        "aspect_ratio": Field("string", enum=("16:9", "9:16")),
        "duration": Field("integer", enum=(4, 6, 8)),
        "image": Field(URI), "last_frame": Field(URI),
        "reference_images": Field("array"),
        "negative_prompt": Field("string"),
        "resolution": Field("string", enum=("720p", "1080p")),
        "generate_audio": Field("boolean"), "seed": Field("integer"),
    }, "video", queue=3, run=30),
    "minimax/hailuo-02": ModelSpec("minimax/hailuo-02", True, (), {
        "prompt": Field("string", required=True),
        "first_frame_image": Field(URI), "last_frame_image": Field(URI),
        "duration": Field("integer", enum=(6, 10)),
        "resolution": Field("string", enum=("512p", "768p", "1080p")),
        "prompt_optimizer": Field("boolean"),
    }, "video", queue=3, run=30),
    "meta/musicgen": ModelSpec("meta/musicgen", False, (MUSICGEN_VERSION, OLD_MUSICGEN_VERSION), {
        "prompt": Field("string"),
        "model_version": Field("string", enum=("stereo-melody-large", "stereo-large",
                                               "melody-large", "large")),
        "input_audio": Field(URI), "duration": Field("integer", minimum=1, maximum=30),
        "continuation": Field("boolean"),
        "continuation_start": Field("integer", minimum=0),
        "continuation_end": Field("integer", minimum=0),
        "multi_band_diffusion": Field("boolean"),
        "normalization_strategy": Field("string", enum=("loudness", "clip", "peak", "rms")),
        "top_k": Field("integer"), "top_p": Field("number"), "temperature": Field("number"),
        "classifier_free_guidance": Field("integer"),
        "output_format": Field("string", enum=("wav", "mp3")), "seed": Field("integer"),
    }, "audio", queue=1, run=10),
}


def validate_input(spec: ModelSpec, data: Any) -> list[dict[str, str]]:
    """Replicate-style ``invalid_fields`` for ``data`` (empty when valid)."""
    if not isinstance(data, dict):
        return [{"type": "type", "field": "input", "description": "input must be an object"}]
    errors: list[dict[str, str]] = []
    for name, f in spec.fields.items():
        if f.required and name not in data:
            errors.append({"type": "required", "field": "input",
                           "description": f"{name} is required"})
    for name, value in data.items():
        f = spec.fields.get(name)
        loc = f"input.{name}"
        if f is None:
            errors.append({"type": "additional_property_not_allowed", "field": "input",
                           "description": f"Additional property {name} is not allowed"})
            continue
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
            URI: isinstance(value, str) and value.startswith(("http://", "https://", "data:")),
        }[f.type]
        if not ok:
            kind = "a URI" if f.type == URI else f"of type {f.type}"
            errors.append({"type": "invalid_type", "field": loc,
                           "description": f"{name} must be {kind}"})
            continue
        if f.type == URI and value.startswith("data:") and not re.match(
                r"^data:[\w.+-]+/[\w.+-]+(;[\w=.+-]+)*;base64,[A-Za-z0-9+/=]+$", value):
            errors.append({"type": "format", "field": loc,
                           "description": f"{name} is not a valid data URI"})
        if f.enum and value not in f.enum:
            allowed = ", ".join(json.dumps(e) for e in f.enum)
            errors.append({"type": "enum", "field": loc,
                           "description": f"{name} must be one of the following: {allowed}"})
        if f.minimum is not None and value < f.minimum:
            errors.append({"type": "number_gte", "field": loc,
                           "description": f"{name} must be greater than or equal to "
                                          f"{f.minimum:g}"})
        if f.maximum is not None and value > f.maximum:
            errors.append({"type": "number_lte", "field": loc,
                           "description": f"{name} must be less than or equal to "
                                          f"{f.maximum:g}"})
    return errors


def cross_field_problem(model: str, data: dict[str, Any]) -> str | None:
    """Rules the models enforce in their own code (external_apis.md §2)."""
    if model == "minimax/hailuo-02" and data.get("duration") == 10 and \
            data.get("resolution", "1080p") != "768p":
        return "10 second videos are only supported at 768p resolution"
    if model == "google/veo-3.1" and data.get("reference_images") and (
            data.get("aspect_ratio", "16:9") != "16:9" or data.get("duration", 8) != 8):
        return "reference_images require 16:9 and 8 seconds"
    # An end frame interpolates from a first frame (§2: "used with image"); a prompt alone is
    # text-to-video and valid for both models.
    for first, last in (("image", "last_frame"), ("first_frame_image", "last_frame_image")):
        if data.get(last) and not data.get(first):
            return f"{last} needs {first}"
    return None


def png_size(uri: Any) -> tuple[int, int] | None:
    """Width and height of a PNG sent as a ``data:`` URI (from its IHDR chunk), else None."""
    if not isinstance(uri, str) or not uri.startswith("data:image/png;base64,"):
        return None
    head = base64.b64decode(uri.split(",", 1)[1][:44] + "==")
    if len(head) < 24 or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def output_size(data: dict[str, Any]) -> tuple[int, int]:
    """A small clip of the shape the model would make: Veo follows ``aspect_ratio``; Hailuo-02
    has no aspect input and follows its first frame (a PNG's own shape, 16:9 otherwise)."""
    if "aspect_ratio" in data or "first_frame_image" not in data:
        return (72, 128) if data.get("aspect_ratio") == "9:16" else (128, 72)
    size = png_size(data["first_frame_image"])
    if size is None or size[0] > size[1]:
        return 128, 72
    return (72, 128) if size[1] > size[0] else (96, 96)


def conforming_clip(data: dict[str, Any], duration: int) -> tuple[str, Callable[[Path], Path]]:
    """A clip as a well-behaved model would deliver it for our output format: the job's
    720p frame at 30 fps, H.264 encoded the way our shots are (no B-frames, tv-range BT.709,
    the same SPS/PPS), so it becomes a shot by a remux (``actorvid.media.shots.conforms``).
    The (file name, maker) pair for the media cache. Used by the load benchmark."""
    from actorvid.domain.models import frame_size
    from actorvid.media.output import FPS, TV_BT709, output_args, shot_encoder_args
    from tests.fakes.media import ffmpeg as media_ffmpeg

    w, h = output_size(data)
    ratio = "16:9" if w > h else "9:16" if h > w else "1:1"
    width, height = frame_size("720p", ratio)

    def maker(path: Path) -> Path:
        media_ffmpeg().run(["-f", "lavfi", "-i",
                            f"testsrc2=size={width}x{height}:rate={FPS}:duration={duration},"
                            f"{TV_BT709}", *shot_encoder_args(), *output_args(path)])
        return path

    return f"output-{duration}s-{width}x{height}-conforming.mp4", maker


# --- state -------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One-shot answer for the next matching request.

    kind: ``status`` (answer ``status`` with ``body`` without doing anything), ``reset`` (drop
    the connection; ``after=True`` does the work first, so a create exists but its answer is
    lost), ``slow`` (answer after ``seconds``; with ``after=True`` the work is done first).
    """

    route: str  # create | get | cancel | list | files | download | secret | any
    kind: str
    status: int = 500
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 2.0
    after: bool = True
    times: int = 1


@dataclass
class Outcome:
    status: str = "succeeded"  # succeeded | failed | stuck | aborted | canceled
    error: str | None = None
    model: str | None = None


@dataclass
class FakePrediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    created: float  # monotonic
    created_wall: datetime
    queue: float  # real seconds
    run: float
    outcome: Outcome
    tag: str = ""
    webhook: str | None = None
    events: tuple[str, ...] = ("start", "output", "logs", "completed")
    deadline: float | None = None
    deadline_wall: datetime | None = None
    status: str = "starting"
    started: float | None = None
    completed: float | None = None
    output_name: str = ""
    output_path: Path | None = None
    output_ready: threading.Event = field(default_factory=threading.Event)
    output_failed: str | None = None
    data_removed: bool = False
    logs: str = ""
    sent_events: set[str] = field(default_factory=set)
    source: str = "api"


def _new_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(26))


class Journal:
    """Every request the fake saw, plus derived counts the tests assert on."""

    def __init__(self, state: FakeReplicate) -> None:
        self._state = state
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.entries if route is None or e["route"] == route]

    @property
    def create_requests(self) -> int:
        return len(self.requests("create"))

    @property
    def creates(self) -> int:
        """Predictions actually created (what would be paid for)."""
        return len(self._state.predictions)

    def inputs(self, model: str | None = None) -> list[dict[str, Any]]:
        """The input of every prediction the fake accepted (``model``: ``owner/name``);
        inputs it refused with a 422 never become predictions."""
        return [p.input for p in self._state.all_predictions()
                if model is None or p.model == model]

    def max_in_flight(self, prefix: str = "") -> int:
        """Most predictions with a tag starting with ``prefix`` running at one moment."""
        points: list[tuple[float, int]] = []
        for pred in self._state.all_predictions():
            if not pred.tag.startswith(prefix):
                continue
            end = pred.completed if pred.completed is not None else math.inf
            points += [(pred.created, 1), (end, -1)]
        best = running = 0
        for _, delta in sorted(points, key=lambda p: (p[0], p[1])):
            running += delta
            best = max(best, running)
        return best

    def in_flight(self, prefix: str = "") -> int:
        return sum(1 for p in self._state.all_predictions()
                   if p.tag.startswith(prefix) and p.status not in TERMINAL)


class FakeReplicate:
    """State and control API of one fake Replicate server."""

    def __init__(self, *, time_scale: float = 0.01, tokens: tuple[str, ...] = ("r8_test",),
                 workdir: Path | None = None, cross_field: str = "422") -> None:
        self.time_scale = time_scale
        self.tokens = set(tokens)
        self.cross_field = cross_field  # "422" or "failed"
        self.timing: dict[str, tuple[float, float]] = {}  # model -> (queue, run) simulated s
        self.retention = 3600.0  # simulated seconds an output lives
        self.output_while_processing = False
        # Serve clips already in the output format (see conforming_clip) instead of the small
        # 12 fps ones.
        self.conforming_clips = False
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.webhook_retry_delays = (0.05, 0.2, 0.5)  # real seconds between delivery attempts
        self.webhook_bad_signature = False
        self.webhook_stale_timestamp = False
        self.webhook_duplicate = False
        self.deliveries: list[dict[str, Any]] = []
        self.predictions: dict[str, FakePrediction] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.outcomes: deque[Outcome] = deque()
        self.rate_limits = {"create": (600.0, 600.0), "other": (3000.0, 3000.0)}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.journal = Journal(self)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-replicate-", dir=workdir)
        self.root = Path(self._tmp.name)
        self.media = MediaCache(self.root / "cache")
        (self.root / "out").mkdir()
        (self.root / "files").mkdir()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fake-replicate-media")
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.server = LoopbackServer(build_app(self), name="fake-replicate")

    # lifecycle
    def start(self) -> FakeReplicate:
        self.server.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="fake-replicate-ticker",
                                        daemon=True)
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5)
        self.server.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._tmp.cleanup()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        """What to configure as ``replicate_base_url``."""
        return self.server.url + "/v1"

    @property
    def token(self) -> str:
        return next(iter(sorted(self.tokens)))

    # control
    def inject(self, route: str, kind: str = "status", **kwargs: Any) -> Fault:
        fault = Fault(route=route, kind=kind, **kwargs)
        if kind == "status" and fault.body is None:
            fault.body = _status_body(fault.status)
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

    def reset(self) -> None:
        with self.lock:
            self.predictions.clear()
            self.faults.clear()
            self.outcomes.clear()
            self.deliveries.clear()
            self.journal.entries.clear()
            self._buckets.clear()

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
            queue, run = self.timing.get(spec.name, (spec.queue, spec.run))
            pred = FakePrediction(
                id=_new_id(), model=spec.name, version=version, input=data, created=now,
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
            data = pred.input
            if REGISTRY[pred.model].output == "video":
                duration = int(data.get("duration") or (8 if "veo" in pred.model else 6))
                w, h = output_size(data)
                name = f"output-{duration}s-{w}x{h}.mp4"

                def maker(path: Path) -> Path:
                    return make_video(path, duration=duration, width=w, height=h)
                if self.conforming_clips:
                    name, maker = conforming_clip(data, duration)
            else:
                duration = int(data.get("duration") or 8)
                name = f"output-{duration}s.{data.get('output_format', 'wav')}"

                def maker(path: Path) -> Path:
                    return make_audio(path, duration=duration)
            dest_dir = self.root / "out" / pred.id
            dest_dir.mkdir(parents=True, exist_ok=True)
            dest = dest_dir / name
            self.media.copy_to(name, maker, dest)
            with self.lock:
                pred.output_name, pred.output_path = name, dest
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
            return None if mono is None else _iso(wall + timedelta(seconds=(
                mono - pred.created) / self.time_scale if self.time_scale else 0))

        output = None
        ready = pred.status == "succeeded" or (
            self.output_while_processing and pred.status == "processing"
            and pred.output_ready.is_set() and pred.output_path is not None)
        if ready and not pred.data_removed and pred.output_path is not None:
            output = f"{self.url}/delivery/{pred.id}/{pred.output_name}"
        body: dict[str, Any] = {
            "id": pred.id, "model": pred.model, "version": pred.version,
            "input": {} if pred.data_removed else pred.input,
            "logs": pred.logs, "output": output, "data_removed": pred.data_removed,
            "error": pred.outcome.error if pred.status == "failed" else None,
            "status": pred.status, "created_at": _iso(wall), "source": pred.source,
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
            body["deadline"] = _iso(pred.deadline_wall)
        if pred.webhook:
            body["webhook"] = pred.webhook
            body["webhook_events_filter"] = list(pred.events)
        return body

    # webhooks
    def _tick_loop(self) -> None:
        while not self._stop.wait(0.01):
            with self.lock:
                due = []
                for pred in self.predictions.values():
                    if not pred.webhook:
                        continue
                    self.refresh(pred)
                    for event in self._due_events(pred):
                        due.append((pred, event, self.to_json(pred)))
            for pred, event, body in due:
                self._deliver(pred, event, body)

    def _due_events(self, pred: FakePrediction) -> list[str]:
        events = []
        started = pred.started is not None or pred.status in TERMINAL
        if started and "start" not in pred.sent_events:
            pred.sent_events.add("start")
            if "start" in pred.events:
                events.append("start")
        if pred.status == "succeeded" and "output" not in pred.sent_events:
            pred.sent_events.add("output")
            if "output" in pred.events:
                events.append("output")
        if pred.status in TERMINAL and "completed" not in pred.sent_events:
            pred.sent_events.add("completed")
            if "completed" in pred.events:
                events.append("completed")
        return events

    def _deliver(self, pred: FakePrediction, event: str, body: dict[str, Any]) -> None:
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        msg_id = "msg_" + secrets.token_urlsafe(18)
        copies = 2 if self.webhook_duplicate else 1
        for _ in range(copies):
            for attempt, delay in enumerate((0.0, *self.webhook_retry_delays), start=1):
                if delay and self._stop.wait(delay):
                    return
                ts = int(time.time()) - (3600 if self.webhook_stale_timestamp else 0)
                secret = self.webhook_secret
                if self.webhook_bad_signature:
                    secret = "whsec_" + base64.b64encode(b"forged" * 6).decode()
                headers = {"Content-Type": "application/json",
                           "User-Agent": "Webhooks/1.66.0 (sender-fake)",
                           "webhook-id": msg_id, "webhook-timestamp": str(ts),
                           "webhook-signature": sign_webhook(secret, msg_id, ts, raw)}
                record: dict[str, Any] = {"prediction": pred.id, "event": event,
                                          "url": pred.webhook, "attempt": attempt,
                                          "headers": headers, "body": raw}
                try:
                    resp = requests.post(pred.webhook or "", data=raw, headers=headers,
                                         timeout=2, allow_redirects=False)
                    record["status"] = resp.status_code
                except requests.RequestException as exc:
                    record["status"] = None
                    record["error"] = type(exc).__name__
                with self.changed:
                    self.deliveries.append(record)
                    self.changed.notify_all()
                if record["status"] is not None and 200 <= record["status"] < 300:
                    break


def _status_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"detail": "Request was throttled. Your rate limit resets in ~1s.",
                "status": 429, "retry_after": 1}
    if status == 402:
        return {"title": "Insufficient credit",
                "detail": "You have insufficient credit to run this model. Go to "
                          "https://replicate.com/account/billing#billing to purchase credit.",
                "status": 402}
    if status == 401:
        return {"title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token", "status": 401}
    if status == 404:
        return {"detail": "The requested resource could not be found.", "status": 404}
    return {"detail": "Internal server error", "status": status}


# --- HTTP ----------------------------------------------------------------------------------------


def _problem(resp: falcon.Response, status: int, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> None:
    resp.status = status
    resp.content_type = "application/problem+json"
    resp.text = json.dumps(body if body is not None else _status_body(status))
    for key, value in (headers or {}).items():
        resp.set_header(key, value)


def _route_of(method: str, path: str) -> str:
    if path.startswith("/delivery/"):
        return "download"
    if path.startswith("/v1/files"):
        return "files"
    if path == "/v1/webhooks/default/secret":
        return "secret"
    if method == "POST" and path.endswith("/cancel"):
        return "cancel"
    if method == "POST" and (path == "/v1/predictions" or path.endswith("/predictions")):
        return "create"
    if method == "GET" and path == "/v1/predictions":
        return "list"
    if path.startswith("/v1/"):
        return "get"
    return "control"


class _Journaling:
    """WSGI wrapper: journal every request and apply one-shot transport faults."""

    def __init__(self, state: FakeReplicate, app: falcon.App) -> None:
        self.state = state
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        route = _route_of(method, path)
        if route == "control":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            body = json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else None
        except ValueError:
            body = None
        entry = {"method": method, "path": path, "query": environ.get("QUERY_STRING", ""),
                 "route": route, "headers": headers, "body": body, "time": time.monotonic()}
        self.state.journal.add(entry)
        fault = self.state.take_fault(route)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "status":
            payload = json.dumps(fault.body).encode()
            start_response(f"{fault.status} Fault", [
                ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                *fault.headers.items()])
            return [payload]
        captured: dict[str, Any] = {}

        def capture(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, hdrs

        if fault.kind == "reset" and not fault.after:
            payload = b""
            captured.update(status="201 Created", headers=[])
        else:
            payload = b"".join(self.app(environ, capture))
        if fault.kind == "slow":
            time.sleep(fault.seconds)
            start_response(captured["status"], captured["headers"])
            return [payload]
        # "reset": promise more bytes than we send; waitress then closes the connection and the
        # client sees a broken answer, as with a reset after the server did the work.
        start_response(captured["status"], [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload) + 4096))])
        return [payload[: len(payload) // 2]]


class _Auth:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not req.path.startswith("/v1/"):
            return  # delivery files and the control API need no token, as in practice
        scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
        if scheme not in ("Bearer", "Token") or token not in self.state.tokens:
            _problem(resp, 401)
            resp.complete = True
            return
        route = _route_of(req.method, req.path)
        wait = self.state.throttle(token, route)
        if wait is not None:
            _problem(resp, 429, {
                "detail": f"Request was throttled. Your rate limit resets in ~{wait}s.",
                "status": 429, "retry_after": wait}, {"Retry-After": str(wait)})
            resp.complete = True


class _Create:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_post(self, req: falcon.Request, resp: falcon.Response, owner: str = "",
                name: str = "") -> None:
        state = self.state
        try:
            payload = json.loads(req.bounded_stream.read() or b"null")
        except ValueError:
            _problem(resp, 400, {"detail": "Invalid JSON", "status": 400})
            return
        if not isinstance(payload, dict):
            _problem(resp, 422, {"detail": "- body: must be an object\n", "status": 422,
                                 "title": "Input validation failed"})
            return
        allowed = {"input", "webhook", "webhook_events_filter", "stream"}
        if not owner:
            allowed.add("version")
        extra = sorted(set(payload) - allowed)
        if extra:
            lines = "".join(f"- (root): Additional property {k} is not allowed\n" for k in extra)
            _problem(resp, 422, {"detail": lines, "status": 422,
                                 "title": "Input validation failed",
                                 "invalid_fields": [{"type": "additional_property_not_allowed",
                                                     "field": "(root)",
                                                     "description": f"Additional property {k} "
                                                                    "is not allowed"}
                                                    for k in extra]})
            return
        spec, version = self._resolve(owner, name, payload.get("version"))
        if spec is None:
            _problem(resp, 422, {"title": "Invalid version or not permitted",
                                 "detail": "The specified version does not exist (or perhaps "
                                           "you don't have permission to use it?)",
                                 "status": 422})
            return
        if "input" not in payload:
            _problem(resp, 422, {"detail": "- (root): input is required\n", "status": 422,
                                 "title": "Input validation failed"})
            return
        errors = validate_input(spec, payload["input"])
        if not errors and state.cross_field == "422":
            problem = cross_field_problem(spec.name, payload["input"])
            if problem:
                errors = [{"type": "invalid", "field": "input", "description": problem}]
        if errors:
            detail = "".join(f"- {e['field']}: {e['description']}\n" for e in errors)
            _problem(resp, 422, {"detail": detail, "status": 422,
                                 "title": "Input validation failed", "invalid_fields": errors})
            return
        prefer = req.get_header("Prefer")
        if prefer is not None and not PREFER_RE.match(prefer):
            _problem(resp, 422, {"detail": "- Prefer: invalid value\n", "status": 422,
                                 "title": "Invalid header"})
            return
        cancel_after = None
        raw_cancel = req.get_header("Cancel-After")
        if raw_cancel is not None:
            cancel_after = parse_cancel_after(raw_cancel)
            if cancel_after is None or cancel_after < 5:
                _problem(resp, 422, {"detail": "- Cancel-After: must be a duration of at least "
                                               "5s\n", "status": 422,
                                     "title": "Invalid header"})
                return
        webhook = payload.get("webhook")
        tag = _webhook_tag(webhook) or req.get_header("X-Actorvid-Tag") or ""
        pred = state.create(spec, version, payload["input"], tag=tag, webhook=webhook,
                            events=payload.get("webhook_events_filter"),
                            cancel_after=cancel_after)
        if prefer is not None:
            seconds = int(prefer.split("=", 1)[1]) if "=" in prefer else 60
            deadline = time.monotonic() + seconds * state.time_scale
            with state.changed:
                while True:
                    state.refresh(pred)
                    remaining = deadline - time.monotonic()
                    if pred.status in TERMINAL or remaining <= 0:
                        break
                    state.changed.wait(min(remaining, 0.01))
        with state.lock:
            state.refresh(pred)
            body = state.to_json(pred)
        resp.status = 201
        resp.media = body
        resp.location = body["urls"]["get"]

    def _resolve(self, owner: str, name: str, version: Any) -> tuple[ModelSpec | None, str]:
        if owner:
            spec = REGISTRY.get(f"{owner}/{name}")
            return (spec, "hidden") if spec and spec.official else (None, "")
        if not isinstance(version, str):
            return None, ""
        if version in REGISTRY and REGISTRY[version].official:
            return REGISTRY[version], "hidden"
        model, _, hash_ = version.rpartition(":")
        for spec in REGISTRY.values():
            if hash_ in spec.versions and model in ("", spec.name):
                return spec, hash_
        return None, ""


def _webhook_tag(webhook: Any) -> str | None:
    if not isinstance(webhook, str):
        return None
    values = parse_qs(urlsplit(webhook).query).get("tag")
    return values[0] if values else None


class _Predictions:
    def __init__(self, state: FakeReplicate, create: _Create) -> None:
        self.state = state
        self.on_post = create.on_post

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = self.state
        after = req.get_param("created_after")
        before = req.get_param("created_before")
        cursor = req.get_param_as_int("cursor") or 0
        with state.lock:
            preds = sorted(state.predictions.values(), key=lambda p: p.created, reverse=True)
            if after:
                preds = [p for p in preds if p.created_wall > _parse_iso(after)]
            if before:
                preds = [p for p in preds if p.created_wall < _parse_iso(before)]
            page = preds[cursor:cursor + 100]
            for pred in page:
                state.refresh(pred)
            results = [state.to_json(p) for p in page]
        nxt = None
        if cursor + 100 < len(preds):
            query = f"cursor={cursor + 100}"
            if after:
                query += f"&created_after={after}"
            nxt = f"{state.api_url}/predictions?{query}"
        resp.media = {"next": nxt, "previous": None, "results": results}


class _Prediction:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def _find(self, prediction_id: str, resp: falcon.Response) -> FakePrediction | None:
        with self.state.lock:
            pred = self.state.predictions.get(prediction_id)
        if pred is None:
            _problem(resp, 404)
        return pred

    def on_get(self, req: falcon.Request, resp: falcon.Response, prediction_id: str) -> None:
        pred = self._find(prediction_id, resp)
        if pred is not None:
            with self.state.lock:
                self.state.refresh(pred)
                resp.media = self.state.to_json(pred)

    def on_post_cancel(self, req: falcon.Request, resp: falcon.Response,
                       prediction_id: str) -> None:
        pred = self._find(prediction_id, resp)
        if pred is not None:
            self.state.cancel(pred)
            with self.state.lock:
                resp.media = self.state.to_json(pred)


class _Delivery:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response, prediction_id: str,
               name: str) -> None:
        with self.state.lock:
            pred = self.state.predictions.get(prediction_id)
            if pred is not None:
                self.state.refresh(pred)
            ok = (pred is not None and not pred.data_removed and pred.output_path is not None
                  and pred.output_name == name and pred.output_path.exists())
            path = pred.output_path if ok and pred else None
        if path is None:
            _problem(resp, 404)
            return
        resp.content_type = "video/mp4" if name.endswith(".mp4") else (
            "audio/mpeg" if name.endswith(".mp3") else "audio/wav")
        resp.set_stream(path.open("rb"), path.stat().st_size)


class _Files:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = self.state
        form = req.get_media()
        content = None
        meta: dict[str, str] = {}
        file_id = _new_id()
        dest = state.root / "files" / file_id
        for part in form:
            if part.name == "content":
                digest = hashlib.sha256()
                size = 0
                with dest.open("wb") as out:
                    while chunk := part.stream.read(65536):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                content = {"size": size, "sha256": digest.hexdigest(),
                           "content_type": part.content_type or "application/octet-stream",
                           "filename": part.filename or "file"}
            else:
                meta[part.name] = part.text
        if content is None:
            _problem(resp, 422, {"detail": "- content: content is required\n", "status": 422,
                                 "title": "Input validation failed"})
            return
        now = datetime.now(UTC)
        obj = {"id": file_id, "name": meta.get("filename", content["filename"]),
               "content_type": meta.get("type", content["content_type"]),
               "size": content["size"], "checksums": {"sha256": content["sha256"]},
               "metadata": {}, "created_at": _iso(now),
               "expires_at": _iso(now + timedelta(hours=1)),
               "urls": {"get": f"{state.api_url}/files/{file_id}"}}
        with state.lock:
            state.files[file_id] = obj
        resp.status = 201
        resp.media = obj

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, file_id: str) -> None:
        obj = self.state.files.get(file_id)
        if obj is None:
            _problem(resp, 404)
            return
        resp.media = obj

    def on_get_download(self, req: falcon.Request, resp: falcon.Response, file_id: str) -> None:
        obj = self.state.files.get(file_id)
        if obj is None:
            _problem(resp, 404)
            return
        path = self.state.root / "files" / file_id
        resp.content_type = obj["content_type"]
        resp.set_stream(path.open("rb"), path.stat().st_size)


class _Secret:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"key": self.state.webhook_secret}


class _Control:
    """``/__fake__/``: health, reset, faults, outcomes, expire, journal."""

    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_get_health(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"ok": True}

    def on_post_reset(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.state.reset()
        resp.media = {"ok": True}

    def on_post_faults(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.get_media()
        fault = self.state.inject(body.pop("route"), body.pop("kind", "status"), **body)
        resp.media = {"route": fault.route, "kind": fault.kind}

    def on_post_outcomes(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.get_media()
        self.state.next_outcome(body["status"], body.get("error"), body.get("model"))
        resp.media = {"ok": True}

    def on_post_expire(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.state.expire((req.get_media(default_when_empty={}) or {}).get("id"))
        resp.media = {"ok": True}

    def on_get_journal(self, req: falcon.Request, resp: falcon.Response) -> None:
        prefix = req.get_param("prefix") or ""
        resp.media = {
            "requests": [{k: v for k, v in e.items() if k != "time"}
                         for e in self.state.journal.requests()],
            "create_requests": self.state.journal.create_requests,
            "creates": self.state.journal.creates,
            "max_in_flight": self.state.journal.max_in_flight(prefix),
        }


def build_app(state: FakeReplicate) -> Callable[..., Any]:
    app = falcon.App(middleware=[_Auth(state)])
    app.req_options.strip_url_path_trailing_slash = True
    create = _Create(state)
    app.add_route("/v1/predictions", _Predictions(state, create))
    app.add_route("/v1/models/{owner}/{name}/predictions", create)
    prediction = _Prediction(state)
    app.add_route("/v1/predictions/{prediction_id}", prediction)
    app.add_route("/v1/predictions/{prediction_id}/cancel", prediction, suffix="cancel")
    files = _Files(state)
    app.add_route("/v1/files", files)
    app.add_route("/v1/files/{file_id}", files, suffix="item")
    app.add_route("/v1/files/{file_id}/download", files, suffix="download")
    app.add_route("/v1/webhooks/default/secret", _Secret(state))
    app.add_route("/delivery/{prediction_id}/{name}", _Delivery(state))
    control = _Control(state)
    for suffix in ("health", "reset", "faults", "outcomes", "expire", "journal"):
        app.add_route(f"/__fake__/{suffix}", control, suffix=suffix)
    return _Journaling(state, app)
