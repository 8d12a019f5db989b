"""What a JobActor delegates: the :class:`JobPipeline` protocol.

The JobActor is a generic state machine (prepare → await approval → render → finish); what each
step *does* for a job type (image pairs, property video, standard storyboard, audio) is a
pipeline object, injected per job type into :class:`actorvid.actors.runtime.ActorSystem`.

Where each method runs, so a pipeline knows what it may do:

- :meth:`JobPipeline.prepare` (selection + storyboard: an LLM call or two) runs on the I/O pool;
  it may take seconds; it must not touch actors.
- :meth:`JobPipeline.scenes`, :meth:`JobPipeline.soundtrack` and
  :meth:`JobPipeline.render_input` run on the actor's thread and must be quick (read the
  storyboard, look up asset rows).
- :meth:`JobPipeline.finish` (stitch, soundtrack, store the video) runs on the bounded media pool
  (``Settings.media_workers``); it may run ffmpeg and write blobs. It can be run again after a
  crash, from the same stored clips, so it must not assume it runs once.
- :meth:`ShotMaker.normalise` (a video pipeline's optional extra) converts one stored clip into
  the job's output format as it arrives, on the media pool, and returns the new blob; the
  JobActor records it in the clip's row. It may run twice for a clip (a restart): the row keeps
  the first and the actor deletes the other.

A real pipeline plugs in as ``ActorSystem(db, provider=..., pipelines={"image_pairs":
ImagePairsPipeline(db, selector, writer), ...})``; pure decisions stay in ``actorvid.workflows``
and the pipeline object is the thin adapter that feeds them rows and stores their results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# Re-exported: the pipelines build their plans as ``actors.pipeline.PlannedScene``.
from actorvid.domain.scenes import PlannedScene as PlannedScene
from actorvid.providers.base import MusicInput, RenderInput
from actorvid.store.jobs import Job, SubJob


class StepError(Exception):
    """A pipeline step failed for a reason a retry will not fix (no image left, nothing
    rendered...). The job fails at once with this message instead of being restarted."""


@dataclass(frozen=True)
class Storyboard:
    """What :meth:`JobPipeline.prepare` returns; ``data`` is stored as ``jobs.storyboard``."""

    data: dict[str, Any]
    estimated_cost: float | None = None
    # Job types without a review step (e.g. image pairs from the API) render straight away.
    auto_approve: bool = False


@dataclass(frozen=True)
class FinishedVideo:
    """What :meth:`JobPipeline.finish` returns: stored blobs and the client-facing result."""

    video_blob_id: str | None
    result: dict[str, Any]
    thumbnail_blob_id: str | None = None
    audio_blob_id: str | None = None
    # Paid work that is not a scene's prediction (selection, soundtrack), added to the job.
    extra_cost: float = 0.0


@dataclass(frozen=True)
class NormalisedClip:
    """What :meth:`ShotMaker.normalise` returns: the shot blob made from the clip blob."""

    sub_job_id: str
    clip_blob_id: str
    shot_blob_id: str


@runtime_checkable
class ShotMaker(Protocol):
    def normalise(self, job: Job, clip: SubJob) -> NormalisedClip:
        """Convert a stored clip into a shot in the job's output format and store it as a new
        blob. On the media pool."""


@runtime_checkable
class JobPipeline(Protocol):
    def prepare(self, job: Job) -> Storyboard:
        """Select assets and write the storyboard. Runs on the I/O pool."""

    def scenes(self, job: Job) -> Sequence[PlannedScene]:
        """The scenes to render from the approved storyboard. Quick; on the actor's thread."""

    def soundtrack(self, job: Job, clips: Sequence[SubJob]) -> Sequence[PlannedScene]:
        """The music segments to make once the clips are rendered (none: no soundtrack). They
        are made one after another, segment k+1 continuing segment k. Quick; actor thread."""

    def render_input(self, job: Job, sub_job: SubJob) -> RenderInput | MusicInput:
        """What to send the provider for one clip or music segment. Quick; on the scene
        actor's thread."""

    def finish(self, job: Job, clips: Sequence[SubJob]) -> FinishedVideo:
        """Stitch the completed clips (in scene order), lay the music segments made under them,
        store. On the media pool."""
