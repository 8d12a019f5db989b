"""Offline providers: real output made with ffmpeg, no keys, no network.

The renderer and the music maker are :class:`PredictionService` s with Replicate's shape:
``create`` queues an ffmpeg job on a bounded pool and returns at once, ``get`` reports its
status, ``cancel`` kills the ffmpeg process, ``download`` streams the file. So the SceneActor's
create → poll → download cycle is the same offline and online.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from actorvid.clock import now_iso
from actorvid.errors import MediaError, ProviderError
from actorvid.media.audio import bed_args, style_for
from actorvid.media.ffmpeg import STDERR_TAIL, FFmpeg
from actorvid.media.render import transition_args
from actorvid.providers import models
from actorvid.providers.base import (
    AssetSummary,
    ImageInput,
    MusicInput,
    OutputExpired,
    Prediction,
    PredictionStatus,
    RenderInput,
    SceneDraft,
    SelectedPair,
    SelectionRequest,
    SelectionResult,
    StoryboardRequest,
)

logger = logging.getLogger(__name__)

ReadBlob = Callable[[str], Iterator[bytes]]
PIECE = 256 * 1024

_EXT = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "image/webp": ".webp",
        "image/gif": ".gif", "audio/mpeg": ".mp3", "audio/wav": ".wav"}


@dataclass
class _Job:
    id: str
    tag: str
    inputs: RenderInput | MusicInput
    created_at: str
    status: PredictionStatus = "starting"
    error: str | None = None
    output: Path | None = None
    started: float | None = None
    completed: float | None = None
    process: subprocess.Popen[bytes] | None = None
    cancel_requested: bool = False
    removed: bool = False


class _LocalPredictions:
    """Bounded-pool ffmpeg jobs behind the PredictionService shape."""

    name = "local"
    suffix = ".bin"

    def __init__(self, read_blob: ReadBlob, *, ffmpeg: FFmpeg | None = None, workers: int = 2,
                 workdir: Path | None = None, timeout: float = 600.0,
                 retention: float = 3600.0) -> None:
        self._read_blob = read_blob
        self._ffmpeg = ffmpeg or FFmpeg.locate()
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix=f"local-{type(self).__name__}")
        self._tmp = tempfile.TemporaryDirectory(prefix="actorvid-local-", dir=workdir)
        self._root = Path(self._tmp.name)
        self._timeout = timeout
        self._retention = retention  # like Replicate: outputs are removed after a while
        self._jobs: dict[str, _Job] = {}
        self._by_tag: dict[str, str] = {}
        self._lock = threading.Lock()
        self._closed = False

    # --- the interface ---------------------------------------------------------------------

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        self._check_inputs(inputs)
        with self._lock:
            if self._closed:
                raise ProviderError("The local provider is shut down", retryable=False)
            job = _Job(id=uuid.uuid4().hex[:26], tag=tag, inputs=inputs, created_at=now_iso())
            self._jobs[job.id] = job
            self._by_tag[tag] = job.id
        self._pool.submit(self._run, job)
        logger.info("local %s job %s queued for tag %s", self.name, job.id, tag)
        return self._view(job)

    def find(self, tag: str, inputs: RenderInput | MusicInput | None = None,
             since: object = None) -> Prediction | None:
        # Local work lives in this process only: a restart loses it, and creates anew.
        with self._lock:
            job_id = self._by_tag.get(tag)
        return self.get(job_id) if job_id else None

    def get(self, prediction_id: str) -> Prediction:
        with self._lock:
            job = self._jobs.get(prediction_id)
        if job is None:
            raise ProviderError(f"Unknown local prediction {prediction_id}", status=404)
        self._expire(job)
        return self._view(job)

    def cancel(self, prediction_id: str) -> Prediction:
        with self._lock:
            job = self._jobs.get(prediction_id)
            if job is None:
                raise ProviderError(f"Unknown local prediction {prediction_id}", status=404)
            if job.status in ("starting", "processing"):
                job.cancel_requested = True
                if job.status == "starting":
                    job.status, job.completed = "canceled", time.monotonic()
                elif job.process is not None:
                    job.process.kill()  # _run sees cancel_requested and reports canceled
        return self._view(job)

    def download(self, prediction: Prediction, dest: BinaryIO) -> int:
        with self._lock:
            job = self._jobs.get(prediction.id)
        if job is None or job.status != "succeeded":
            raise ProviderError(f"Prediction {prediction.id} has no output")
        self._expire(job)
        if job.removed or job.output is None or not job.output.exists():
            raise OutputExpired(f"The output of local prediction {prediction.id} has expired")
        written = 0
        with job.output.open("rb") as src:
            while piece := src.read(PIECE):
                dest.write(piece)
                written += len(piece)
        return written

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        return 0.0

    def close(self) -> None:
        """Kill running jobs, stop the pool, remove the outputs."""
        with self._lock:
            self._closed = True
            for job in self._jobs.values():
                if job.status in ("starting", "processing"):
                    job.cancel_requested = True
                    if job.process is not None:
                        job.process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._tmp.cleanup()

    # --- work ------------------------------------------------------------------------------

    def _check_inputs(self, inputs: RenderInput | MusicInput) -> None:
        raise NotImplementedError

    def _args(self, job: _Job, workdir: Path, out: Path) -> list[str]:
        raise NotImplementedError

    def _run(self, job: _Job) -> None:
        with self._lock:
            if job.cancel_requested or self._closed:
                if job.status == "starting":
                    job.status, job.completed = "canceled", time.monotonic()
                return
            job.status, job.started = "processing", time.monotonic()
        workdir = self._root / job.id
        workdir.mkdir()
        out = workdir / f"output{self.suffix}"
        try:
            args = self._args(job, workdir, out)
            with self._lock:
                if job.cancel_requested:
                    raise _Canceled
                job.process = self._ffmpeg.popen(args)
            try:
                _, stderr = job.process.communicate(timeout=self._timeout)
            except subprocess.TimeoutExpired:
                job.process.kill()
                _, stderr = job.process.communicate()
                raise MediaError("ffmpeg took too long", stderr_tail=stderr[-STDERR_TAIL:]
                                 .decode("utf-8", "replace")) from None
            if job.cancel_requested:
                raise _Canceled
            if job.process.returncode != 0:
                raise MediaError("ffmpeg failed", stderr_tail=stderr[-STDERR_TAIL:]
                                 .decode("utf-8", "replace"))
            self._finish(job, "succeeded", output=out)
        except _Canceled:
            self._finish(job, "canceled")
        except (MediaError, ProviderError, OSError, ValueError) as exc:
            tail = getattr(exc, "stderr_tail", "")
            logger.warning("local %s job %s failed: %s %s", self.name, job.id, exc, tail[-300:])
            self._finish(job, "failed", error=str(exc))
        except Exception as exc:  # a worker must always leave a terminal status behind
            logger.exception("local %s job %s crashed", self.name, job.id)
            self._finish(job, "failed", error=f"internal error ({type(exc).__name__})")
        finally:
            job.process = None
            for path in workdir.iterdir():
                if path != out:
                    path.unlink(missing_ok=True)

    def _finish(self, job: _Job, status: PredictionStatus, *, output: Path | None = None,
                error: str | None = None) -> None:
        with self._lock:
            job.status, job.output, job.error = status, output, error
            job.completed = time.monotonic()
        logger.info("local %s job %s %s", self.name, job.id, status)

    def _materialize(self, ref: ImageInput, workdir: Path, stem: str) -> Path:
        path = workdir / (stem + _EXT.get(ref.content_type, ".bin"))
        with path.open("wb") as out:
            for piece in self._read_blob(ref.blob_id):
                out.write(piece)
        return path

    def _expire(self, job: _Job) -> None:
        if (job.status == "succeeded" and not job.removed and job.completed is not None
                and time.monotonic() - job.completed > self._retention):
            job.removed = True
            if job.output is not None:
                shutil.rmtree(job.output.parent, ignore_errors=True)

    def _view(self, job: _Job) -> Prediction:
        predict = None
        if job.started is not None and job.completed is not None:
            predict = round(job.completed - job.started, 3)
        output = None
        if job.status == "succeeded" and not job.removed and job.output is not None:
            output = job.output.as_uri()
        return Prediction(id=job.id, status=job.status, output=output, error=job.error,
                          predict_time=predict, data_removed=job.removed, model=self.name,
                          created_at=job.created_at)


class _Canceled(Exception):
    pass


class LocalRenderer(_LocalPredictions):
    """first frame → last frame: zoom on the first, crossfade into the second, at the size and
    duration asked (the model's nearest valid duration is the caller's business)."""

    suffix = ".mp4"

    def __init__(self, read_blob: ReadBlob, *, fps: int = 24, preset: str = "veryfast",
                 **kwargs: object) -> None:
        super().__init__(read_blob, **kwargs)  # type: ignore[arg-type]
        self.fps = fps
        self.preset = preset

    def _check_inputs(self, inputs: RenderInput | MusicInput) -> None:
        if not isinstance(inputs, RenderInput):
            raise TypeError("LocalRenderer renders RenderInput only")
        if inputs.duration <= 0:
            raise ProviderError("A clip needs a positive duration", status=422)

    def _args(self, job: _Job, workdir: Path, out: Path) -> list[str]:
        inputs = job.inputs
        assert isinstance(inputs, RenderInput)
        first = self._materialize(inputs.first_frame, workdir, "first")
        last = self._materialize(inputs.last_frame, workdir, "last")
        for path in (first, last):
            # An undecodable still with "-loop 1" makes ffmpeg retry forever: refuse it first.
            if not self._ffmpeg.probe(path, timeout=30).has_video:
                raise MediaError("An input image is not a readable image")
        width, height = models.frame_size(inputs.resolution, inputs.aspect_ratio)
        return transition_args(first, last, out, duration=float(inputs.duration), width=width,
                               height=height, fps=self.fps, preset=self.preset)


class LocalMusic(_LocalPredictions):
    """A synthesised bed per scene type (own key and tempo), of the requested duration."""

    suffix = ".mp3"

    def _check_inputs(self, inputs: RenderInput | MusicInput) -> None:
        if not isinstance(inputs, MusicInput):
            raise TypeError("LocalMusic makes MusicInput only")
        if inputs.duration <= 0:
            raise ProviderError("Music needs a positive duration", status=422)

    def _args(self, job: _Job, workdir: Path, out: Path) -> list[str]:
        inputs = job.inputs
        assert isinstance(inputs, MusicInput)
        style = style_for(inputs.scene_type or inputs.prompt)
        return bed_args(out, duration=float(inputs.duration), style=style)


# --- selection -------------------------------------------------------------------------------

# Ideal tags of the seven property scene types (python_workflows.md §2.2 a), used when the
# request does not bring its own.
DEFAULT_SCENE_TAGS: dict[str, tuple[str, ...]] = {
    "grand arrival": ("exterior", "architecture", "entrance", "facade", "driveway",
                      "landscape"),
    "refined interiors": ("lobby", "interior", "lounge", "reception", "design", "furniture",
                          "chandelier", "living"),
    "guest room sanctuary": ("bedroom", "suite", "bed", "room_view", "balcony", "bathroom",
                             "amenities"),
    "culinary excellence": ("restaurant", "dining", "food", "plating", "bar", "wine", "chef",
                            "cuisine", "kitchen"),
    "wellness & recreation": ("pool", "spa", "fitness", "yoga", "massage", "wellness",
                              "recreation", "activities"),
    "unique experiences": ("experience", "unique", "culture", "local", "activity", "sunset",
                           "beach", "nature"),
    "lasting impression": ("sunset", "view", "landscape", "ocean", "mountains", "hero_shot",
                           "panorama"),
}
_WORD = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower().replace("_", " ")))


def _asset_words(asset: AssetSummary) -> set[str]:
    words = _words(asset.name)
    for tag in asset.tags:
        words |= _words(tag)
        words.add(tag.lower().strip())
    return words


def room_of(asset: AssetSummary) -> str:
    """The room an image shows: its first tag without a trailing number ("Bedroom 1 2" →
    "bedroom 1"), else its name without digits and extension."""
    if asset.tags:
        parts = asset.tags[0].lower().split()
        if len(parts) > 1 and parts[-1].isdigit():
            parts = parts[:-1]
        return " ".join(parts)
    stem = asset.name.rsplit(".", 1)[0].lower()
    return " ".join(_WORD.findall(stem.replace("_", " "))) or "untagged"


class LocalSelector:
    """Deterministic pairs: two distinct images of the same room, or the best tag match."""

    name = "local"

    def select(self, request: SelectionRequest) -> SelectionResult:
        assets = list(request.assets)
        if len(assets) < 2:
            raise ProviderError("Need at least 2 images to select pairs", status=422)
        if request.scene_types:
            return self.select_scenes(request, used=set())
        return SelectionResult(pairs=self._pairs(assets, request.num_pairs), provider="local")

    def _pairs(self, assets: Sequence[AssetSummary], count: int) -> list[SelectedPair]:
        groups: dict[str, list[AssetSummary]] = {}
        for asset in assets:
            groups.setdefault(room_of(asset), []).append(asset)
        # Bigger rooms first (more choice), ties in order of first appearance: deterministic.
        order = sorted(groups, key=lambda room: -len(groups[room]))
        pairs: list[SelectedPair] = []
        used: set[str] = set()
        for room in order:
            members = groups[room]
            for i in range(0, len(members) - 1, 2):
                if len(pairs) < count:
                    pairs.append(SelectedPair(members[i].id, members[i + 1].id, room, 0.8,
                                              f"Two views of the {room}"))
                    used |= {members[i].id, members[i + 1].id}
        leftovers = [a for a in assets if a.id not in used]
        for i in range(0, len(leftovers) - 1, 2):
            if len(pairs) < count:
                pairs.append(SelectedPair(leftovers[i].id, leftovers[i + 1].id, "", 0.5,
                                          "Remaining images paired in order"))
        # More pairs asked than distinct images allow: reuse images, never a pair twice.
        seen = {(p.first_id, p.last_id) for p in pairs}
        n = len(assets)
        for step in range(1, n):
            for i in range(n):
                if len(pairs) >= count:
                    return pairs
                a, b = assets[i], assets[(i + step) % n]
                if (a.id, b.id) not in seen:
                    seen.add((a.id, b.id))
                    pairs.append(SelectedPair(a.id, b.id, "", 0.3, "Images reused to reach "
                                              "the number of pairs asked"))
        return pairs[:count]

    def select_scenes(self, request: SelectionRequest, *, used: set[str],
                      only: Sequence[str] | None = None,
                      scene_tags: dict[str, Sequence[str]] | None = None) -> SelectionResult:
        """One pair per scene type (``only`` a subset), best tag matches among unused images."""
        assets = list(request.assets)
        given = {**request.scene_tags, **(scene_tags or {})}
        tags_of = {**DEFAULT_SCENE_TAGS,
                   **{" ".join(k.lower().split()): tuple(v) for k, v in given.items()}}
        words = {a.id: _asset_words(a) for a in assets}
        pairs: list[SelectedPair] = []
        notes: list[str] = []
        for scene in only if only is not None else request.scene_types:
            ideal = tags_of.get(" ".join(scene.lower().split()), tuple(_words(scene)))
            ideal_words = set(ideal) | {w for t in ideal for w in _words(t)}

            def score(asset: AssetSummary, ideal_words: set[str] = ideal_words) -> int:
                return len(words[asset.id] & ideal_words)

            free = [a for a in assets if a.id not in used]
            if len(free) < 2:
                # Fewer photos than scenes need: reuse the least-matching-loss choice, say so.
                free = list(assets)
                notes.append(f"{scene}: not enough unused photos, photos reused")
            ranked = sorted(free, key=lambda a: -score(a))  # stable: input order breaks ties
            first, last = ranked[0], ranked[1]
            matched = score(first) + score(last)
            used |= {first.id, last.id}
            pairs.append(SelectedPair(
                first.id, last.id, scene, round(min(1.0, 0.4 + 0.1 * matched), 2),
                f"Best tag match for {scene}" if matched else f"No tag match for {scene}; "
                                                                "first unused photos"))
        return SelectionResult(pairs=pairs, provider="local", notes=notes)


# --- storyboard ------------------------------------------------------------------------------

_SHOTS = ("wide", "medium", "close-up", "product", "medium", "wide", "wide")
_BEATS = (
    ("Opening establishing shot", "Introduce {product} with a striking first image."),
    ("Context", "Show where {product} fits in the life of {audience}."),
    ("Feature focus", "Highlight what makes {product} stand out: {message}."),
    ("Detail", "A close look at the craft and quality of {product}."),
    ("Lifestyle", "{audience} enjoying {product}."),
    ("Proof", "Why it matters: {message}."),
    ("Closing shot", "End on {product} and the call to action: {cta}."),
)


def _brief_text(brief: dict[str, object], *keys: str, default: str) -> str:
    """First non-empty string among nested ``keys`` paths like ``"adBasics.product"``."""
    for key in keys:
        value: object = brief
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return default


class LocalStoryboardWriter:
    """Template scenes from the brief: 3–7 by target duration, durations summing to it."""

    name = "local"

    def write(self, request: StoryboardRequest) -> list[SceneDraft]:
        count = request.scene_count or models.scene_count_for_duration(request.target_duration)
        count = max(3, min(7, count))
        target = request.target_duration or 30.0
        fields = self._fields(request.brief)
        # Opening, closing and as many middle beats as fit, in story order.
        beats = [_BEATS[0], *_BEATS[1:1 + count - 2], _BEATS[-1]]
        durations = spread(target, count)
        assets = list(request.asset_ids)
        scenes = []
        for i, ((title, line), duration) in enumerate(zip(beats, durations, strict=True)):
            scenes.append(SceneDraft(
                scene_number=i + 1, duration=duration,
                description=f"{title}: {line.format(**fields)} Style: {fields['style']}.",
                script=line.format(**fields) if i in (0, count - 1) else "",
                shot_type=_SHOTS[i % len(_SHOTS)],
                transition="fade" if i == 0 else "cut",
                assets=(assets[i % len(assets)],) if assets else (),
                metadata={"generator": "local-template"}))
        return scenes

    def rewrite_scene(self, request: StoryboardRequest, scene: SceneDraft, feedback: str
                      ) -> SceneDraft:
        extra = " ".join(feedback.split())
        description = scene.description if not extra else f"{scene.description} ({extra})"
        return replace(scene, description=description,
                       metadata={**scene.metadata, "feedback": extra})

    @staticmethod
    def _fields(brief: dict[str, object]) -> dict[str, str]:
        return {
            "product": _brief_text(brief, "adBasics.product", "product", "context.product",
                                   default="the product"),
            "audience": _brief_text(brief, "adBasics.targetAudience", "targetAudience",
                                    "context.targetAudience", default="the audience"),
            "message": _brief_text(brief, "adBasics.keyMessage", "keyMessage",
                                   "context.keyMessage", default="its quality"),
            "cta": _brief_text(brief, "adBasics.callToAction", "callToAction",
                               default="discover more"),
            "style": _brief_text(brief, "creative.direction.style", "creative.style", "style",
                                 default="cinematic, natural light"),
        }


def spread(total: float, count: int) -> list[float]:
    """``count`` durations to 0.1 s summing exactly to ``total`` (the last absorbs rounding)."""
    base = round(total / count, 1)
    durations = [base] * (count - 1)
    durations.append(round(total - sum(durations), 1))
    return durations
