"""Soundtracks: a MusicGen-style chain of per-scene segments, joined and laid under the video.

Music is sequential by nature: segment k+1 continues from segment k. The chain is a fold over
the scenes that stops at the first failure, keeping what it made. No continuation is ever asked
past the model's length limit: each prediction makes one scene's segment (continuing only from
the end of the previous one), and the segments are joined with short crossfades into one track
whose length is the video's.

The chain runs on the media pool (it is the soundtrack step of a job's finish, or the whole of
an audio job); waiting between polls sleeps that pool thread, never an actor's mailbox, and every
poll checks whether the job was cancelled meanwhile.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backoff

from actorvid.errors import ActorvidError, ProviderError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.stitch import join_audio, mux_soundtrack
from actorvid.pipelines.common import PipelineDeps, PipelineError
from actorvid.providers.base import ImageInput, MusicInput, Prediction, PredictionService
from actorvid.store import blobs
from actorvid.store import jobs as job_store
from actorvid.store.jobs import Job, SubJob
from actorvid.workflows.scenes import pair_template

logger = logging.getLogger(__name__)

CROSSFADE = 0.5
SEGMENT_DEADLINE = 15 * 60.0


@dataclass(frozen=True)
class Segment:
    prompt: str
    duration: float


@dataclass
class ChainResult:
    files: list[Path] = field(default_factory=list)
    blob_ids: list[str] = field(default_factory=list)
    cost: float = 0.0
    error: str | None = None
    failed_segment: int | None = None


def plan_segments(prompts: Sequence[str], durations: Sequence[float], total: float,
                  crossfade: float = CROSSFADE) -> list[Segment]:
    """One segment per scene; all but the last are longer by the crossfade they lose."""
    segments = []
    for index, (prompt, duration) in enumerate(zip(prompts, durations, strict=True)):
        extra = crossfade if index < len(prompts) - 1 else 0.0
        segments.append(Segment(prompt, max(1.0, duration + extra)))
    made = sum(s.duration for s in segments) - crossfade * (len(segments) - 1)
    if segments and made < total:
        last = segments[-1]
        segments[-1] = Segment(last.prompt, last.duration + (total - made))
    return segments


def _cancelled(deps: PipelineDeps, job_id: int) -> bool:
    with deps.db.read() as conn:
        return job_store.get_job(conn, job_id).status == "cancelled"


def run_prediction(deps: PipelineDeps, service: PredictionService, inputs: MusicInput, *,
                   job_id: int, tag: str, sleep: Callable[[float], None] = time.sleep
                   ) -> Prediction:
    """Create one prediction and wait for its end, with backoff; cancel it if the job is."""
    try:
        prediction = service.create(inputs, tag=tag)
    except ProviderError as exc:
        found = service.find(tag) if exc.retryable else None
        if found is None:
            raise
        prediction = found
    waits = backoff.expo(base=2, factor=0.25, max_value=10)
    next(waits)  # backoff's generators yield once before the first value
    deadline = time.monotonic() + SEGMENT_DEADLINE
    while not prediction.terminal:
        if _cancelled(deps, job_id):
            service.cancel(prediction.id)
            raise PipelineError("The job was cancelled")
        if time.monotonic() > deadline:
            service.cancel(prediction.id)
            raise PipelineError("A music segment took too long")
        sleep(max(0.2, backoff.full_jitter(float(next(waits)))))
        prediction = service.get(prediction.id)
    return prediction


def run_chain(deps: PipelineDeps, job: Job, segments: Sequence[Segment], workdir: Path
              ) -> ChainResult:
    """The fold: segment 1 from its prompt, each next one continuing the previous."""
    service = deps.music
    if service is None:
        raise PipelineError("No music provider is configured")
    result = ChainResult()
    previous: ImageInput | None = None
    for index, segment in enumerate(segments, start=1):
        inputs = MusicInput(segment.prompt, max(1, int(round(segment.duration))),
                            continue_from=previous)
        tag = f"job{job.id}:music:{index}:{uuid.uuid4().hex[:8]}"
        try:
            prediction = run_prediction(deps, service, inputs, job_id=job.id, tag=tag)
            if prediction.status != "succeeded":
                raise PipelineError(f"prediction {prediction.id} {prediction.status}: "
                                    f"{prediction.error or 'no output'}")
            path = workdir / f"music_{index:02d}.audio"
            with path.open("wb") as handle:
                service.download(prediction, handle)
            with path.open("rb") as handle:
                stored = blobs.write_blob_from_file(deps.db, handle)
            result.cost += service.cost(inputs, prediction)
        except (ActorvidError, PipelineError, OSError) as exc:
            message = getattr(exc, "message", str(exc))
            logger.warning("job %d: music segment %d failed: %s", job.id, index, message)
            result.error = f"Music segment {index} of {len(segments)} failed: {message}"
            result.failed_segment = index
            return result
        result.files.append(path)
        result.blob_ids.append(stored.id)
        previous = ImageInput("", "audio/mpeg", stored.size, stored.id)
    return result


def _forget(deps: PipelineDeps, blob_ids: Sequence[str]) -> None:
    for blob_id in blob_ids:
        blobs.delete_blob(deps.db, blob_id)


def make_track(deps: PipelineDeps, job: Job, segments: Sequence[Segment], total: float,
               workdir: Path, ffmpeg: FFmpeg) -> tuple[Path, ChainResult]:
    """Run the chain and join its segments into one track of exactly ``total`` seconds."""
    chain = run_chain(deps, job, segments, workdir)
    _forget(deps, chain.blob_ids)  # the joined track is what we keep
    if chain.error is not None:
        raise PipelineError(chain.error)
    track = join_audio(ffmpeg, chain.files, workdir / "soundtrack.m4a", crossfade=CROSSFADE,
                       total=total)
    return track, chain


def score_video(deps: PipelineDeps, job: Job, clips: Sequence[SubJob], video: Path,
                duration: float, workdir: Path, ffmpeg: FFmpeg
                ) -> tuple[Path, str | None, dict[str, Any]]:
    """Lay a per-scene soundtrack under the stitched ``video``; returns the scored file."""
    scenes = {s.get("sceneNumber"): s for s in (job.storyboard or {}).get("scenes", [])}
    prompts = [scenes.get(c.scene_number, {}).get("musicPrompt")
               or pair_template(c.scene_number).music_prompt for c in clips]
    measured = [float(c.duration) for c in clips]
    scale = duration / sum(measured) if sum(measured) else 1.0
    segments = plan_segments(prompts, [d * scale for d in measured], duration)
    track, chain = make_track(deps, job, segments, duration, workdir, ffmpeg)
    scored = mux_soundtrack(ffmpeg, video, track, workdir / "scored.mp4",
                            video_duration=duration)
    with track.open("rb") as handle:
        audio = blobs.write_blob_from_file(deps.db, handle)
    info = {"status": "completed", "requested": True, "duration": round(duration, 3),
            "segments": len(segments), "provider": getattr(deps.music, "name", ""),
            "cost": round(chain.cost, 5), "audioUrl": f"/api/v3/audio/{job.id}/download"}
    return scored, audio.id, info
