"""The messages of the actor tree: frozen dataclasses.

Commands are imperative (``StartJob``), events past tense (``SceneFinished``). The HTTP layer
sends only the three job commands, through :class:`actorvid.actors.runtime.CoordinatorHandle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --- commands from the HTTP layer (to the Coordinator, which routes them) ----------------


@dataclass(frozen=True)
class StartJob:
    """A job row was written (``pending``): start working on it."""

    job_id: int


@dataclass(frozen=True)
class ApproveJob:
    """The storyboard is approved: render. Idempotent if the API already wrote the approval."""

    job_id: int


@dataclass(frozen=True)
class CancelJob:
    """Stop the job and every prediction in flight."""

    job_id: int


@dataclass(frozen=True)
class PokeScene:
    """A webhook says this prediction moved: poll it now (a hint; polling decides)."""

    job_id: int
    sub_job_id: str
    provider_id: str


@dataclass(frozen=True)
class RefreshPreview:
    """A job's storyboard or status changed: render its preview for the current storyboard,
    cancel one that shows an older one, or remove it (issue 19). Idempotent."""

    job_id: int


@dataclass(frozen=True)
class RenderDraft:
    """A dry-run preview row was written (``rendering``): render it."""

    preview_id: str


# --- internal commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Resume:
    """(Re)read the actor's row and carry on from it; sent to itself after start, by tell,
    so that a failure in the work is a supervised failure."""


@dataclass(frozen=True)
class PollPrediction:
    """Timer message: time to ask the provider about the prediction again."""

    sub_job_id: str
    provider_id: str


@dataclass(frozen=True)
class CancelScene:
    """Cancel this scene's prediction at the provider and stop."""

    job_id: int
    sub_job_id: str


@dataclass(frozen=True)
class PurgePreviews:
    """Timer message: remove dry-run previews past their expiry."""


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneFinished:
    """A scene's clip is stored (the row says completed)."""

    job_id: int
    sub_job_id: str
    scene_number: int


@dataclass(frozen=True)
class SceneFailed:
    """A scene ended without a clip (the row says failed or cancelled)."""

    job_id: int
    sub_job_id: str
    scene_number: int
    error: str


@dataclass(frozen=True)
class WorkDone:
    """A pool task finished: ``value`` on success, ``error`` (one line) on failure."""

    step: str
    token: int
    value: Any = None
    error: str | None = None
    # The step said retrying cannot help (a StepError): fail the job, do not restart it.
    final: bool = False
