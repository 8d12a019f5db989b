"""The small interfaces the pipelines and actors call; each has a remote and a local version.

Rendering and music are *prediction services*: ``create`` starts a piece of remote (or local
background) work and returns at once with its id, ``get`` tells how it is going, ``cancel``
stops it, ``download`` streams its output into a file. This is Replicate's shape; the local
provider implements the same shape with ffmpeg on a bounded pool, so the SceneActor's
create → store id → poll with timers → download → store cycle is the same offline and online.

Selection and storyboard writing are plain calls (one LLM request each).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol, TypeVar, runtime_checkable

from actorvid.domain.drafts import SceneDraft, SelectedPair
from actorvid.errors import ProviderError

PredictionStatus = Literal["starting", "processing", "succeeded", "failed", "canceled", "aborted"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled", "aborted"})

VideoModel = Literal["veo3", "hailuo"]
# The job's frame: 1:1 is rendered by the models at 16:9 (or, for Hailuo-02, from a square
# first frame) and cropped; the local renderer makes it natively.
AspectRatio = Literal["16:9", "9:16", "1:1"]


@dataclass(frozen=True)
class ImageInput:
    """A stored file to send to a model (an image, or an audio segment to continue).

    Providers read its bytes through the ``read_blob(blob_id)`` callable they were built with;
    they never import the store.
    """

    asset_id: str
    content_type: str
    size: int
    blob_id: str
    # A short-lived URL of ours, when ACTORVID_PUBLIC_BASE_URL is set; otherwise empty and the
    # provider sends a data: URI or uploads the file.
    access_url: str = ""
    # Pixel size when known (images): a provider crops a photo of another shape to the ratio
    # it renders, around the centre, before sending it.
    width: int = 0
    height: int = 0


# How a provider reads a stored blob (by id), chunk by chunk: the wiring hands in the store's
# reader, so providers never import the store.
ReadBlob = Callable[[str], Iterator[bytes]]
# Mints a short-lived URL of ours for a stored file (when ACTORVID_PUBLIC_BASE_URL is set).
MintUrl = Callable[[ImageInput], str]


@dataclass(frozen=True)
class RenderInput:
    """One clip: first frame → last frame, prompt, duration (already valid for the model).

    Without frames (both None) the clip is made from the prompt alone (text-to-video).
    """

    model: VideoModel
    first_frame: ImageInput | None
    last_frame: ImageInput | None
    prompt: str
    duration: int
    aspect_ratio: AspectRatio = "16:9"
    resolution: str = "720p"
    # ``RRGGBB``: the background of a text-only clip for renderers that draw one (local);
    # models ignore it.
    background: str = ""


@dataclass(frozen=True)
class MusicInput:
    """One soundtrack segment; ``continue_from`` is the previous segment to continue."""

    prompt: str
    duration: int
    continue_from: ImageInput | None = None  # an audio blob reference, same shape as an image
    scene_type: str = ""
    # Length in seconds of ``continue_from``: the last seconds of it prompt the continuation.
    continue_from_seconds: float = 0.0


Inputs = TypeVar("Inputs", RenderInput, MusicInput)


def inputs_to_dict(inputs: RenderInput | MusicInput) -> dict[str, Any]:
    """A render or music input as plain JSON-able data (kept to rebuild it after a restart)."""
    return dataclasses.asdict(inputs)


def inputs_from_dict(data: Mapping[str, Any], kind: type[Inputs]) -> Inputs:
    """The inverse of :func:`inputs_to_dict` for ``kind`` (RenderInput or MusicInput)."""
    values = dict(data)
    for name in ("first_frame", "last_frame", "continue_from"):
        if isinstance(values.get(name), dict):
            values[name] = ImageInput(**values[name])
    known = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class Prediction:
    id: str
    status: PredictionStatus
    output: str | None = None
    error: str | None = None
    predict_time: float | None = None
    data_removed: bool = False
    model: str = ""
    created_at: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class CreateOutcomeUnknown(ProviderError):
    """A create was sent but its answer was lost (timeout, reset, 5xx): it may exist.

    Never create again blindly: call ``find(tag)`` first; only when that stays empty is a new
    attempt (with a new tag) safe.
    """

    def __init__(self, message: str, *, tag: str) -> None:
        super().__init__(message, retryable=True)
        self.tag = tag


class OutputExpired(ProviderError):
    """The prediction's output was purged by the provider (Replicate keeps it about an hour)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, status=404)


@runtime_checkable
class PredictionService(Protocol):
    """A provider of paid (or local) predictions: video clips or music segments."""

    name: str  # "replicate" or "local"

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        """Start one prediction. ``tag`` is unique per attempt so a lost answer can be found."""

    def find(self, tag: str, inputs: RenderInput | MusicInput | None = None,
             since: datetime | None = None) -> Prediction | None:
        """The prediction created with ``tag``, if the provider has it (after a lost answer).

        ``inputs`` and ``since`` (when the attempt began) let a provider recognise the
        prediction by what was sent, after a restart that lost the attempt's memory.
        """

    def get(self, prediction_id: str) -> Prediction: ...

    def cancel(self, prediction_id: str) -> Prediction: ...

    def download(self, prediction: Prediction, dest: BinaryIO) -> int:
        """Stream the output of a succeeded prediction into ``dest``; returns bytes written."""

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        """What this prediction cost (0 for local)."""


@dataclass(frozen=True)
class AssetSummary:
    """What a selector knows of one image."""

    id: str
    name: str
    tags: tuple[str, ...] = ()
    width: int | None = None
    height: int | None = None
    image: ImageInput | None = None


@dataclass(frozen=True)
class SelectionRequest:
    assets: Sequence[AssetSummary]
    num_pairs: int
    # Property videos: exactly these scene types, one pair each, no image twice.
    scene_types: Sequence[str] = ()
    context: dict[str, str] = field(default_factory=dict)
    # Ideal tags per scene type (e.g. from workflows.scenes); the local selector matches on them.
    scene_tags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # May a photo appear in more than one pair? Only when the request says so (allowReuse).
    allow_reuse: bool = False


@dataclass(frozen=True)
class SelectionResult:
    pairs: list[SelectedPair]
    provider: str  # "xai" or "local"
    notes: list[str] = field(default_factory=list)  # repairs, fallbacks
    cost: float = 0.0


class Selector(Protocol):
    name: str

    def select(self, request: SelectionRequest) -> SelectionResult: ...


@dataclass(frozen=True)
class StoryboardRequest:
    brief: dict[str, object]
    target_duration: float
    scene_count: int
    asset_ids: Sequence[str] = ()


class StoryboardWriter(Protocol):
    name: str

    def write(self, request: StoryboardRequest) -> list[SceneDraft]: ...

    def rewrite_scene(self, request: StoryboardRequest, scene: SceneDraft, feedback: str
                      ) -> SceneDraft: ...
