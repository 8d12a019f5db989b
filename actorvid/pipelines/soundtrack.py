"""Soundtracks: a MusicGen-style chain of per-scene segments, joined and laid under the video.

Music is sequential by nature: segment k+1 continues from segment k. Each segment is one
prediction, so it is a sub-job (``kind="music"``) rendered by a SceneActor like a clip: its row,
attempt tag and prediction id are written before it is polled, and a restart resumes the chain
at the first segment without stored music instead of paying for the others again. The JobActor
starts one segment at a time; :meth:`SoundtrackMaker.music_input` gives segment k+1 the stored
output of segment k to continue.

Lengths: the track must cover the picture to its last frame, and each change of music must
fall on a cut. With crossfades of ``d`` seconds, segment 1 lasts its clip plus ``d/2``, a middle
segment its clip plus ``d`` and the last its clip plus ``d/2``, so every crossfade is centred on
a cut and the joined track is exactly as long as the clips together. MusicGen makes whole
seconds: it is asked for the next whole second (within its 30 s cap) and each segment is cut to
its exact length when they are joined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.actors.pipeline import PlannedScene
from actorvid.domain.models import MUSICGEN_MAX_SECONDS
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.stitch import Segments, join_audio
from actorvid.pipelines.deps import PipelineDeps, PipelineError
from actorvid.providers.base import ImageInput, MusicInput
from actorvid.store import blobs
from actorvid.store import jobs as job_store
from actorvid.store.jobs import Job, SubJob

CROSSFADE = 0.5
MUSIC_MODEL = "musicgen"


@dataclass(frozen=True)
class Segment:
    prompt: str
    duration: float  # exact seconds this segment contributes, crossfade overlaps included
    scene_type: str = ""


def plan_segments(prompts: Sequence[str], clip_durations: Sequence[float], *,
                  scene_types: Sequence[str] | None = None,
                  crossfade: float = CROSSFADE) -> list[Segment]:
    """One segment per clip, long enough that the crossfades centre on the cuts and the joined
    track is exactly the clips' total length."""
    count = len(prompts)
    types = list(scene_types or [""] * count)
    segments = []
    for index, (prompt, clip) in enumerate(zip(prompts, clip_durations, strict=True)):
        extra = (crossfade / 2 if index > 0 else 0.0) + (
            crossfade / 2 if index < count - 1 else 0.0)
        segments.append(Segment(prompt, round(clip + extra, 3), types[index]))
    return segments


def screen_times(clip_durations: Sequence[float], overlap: float) -> list[float]:
    """Seconds each clip owns in a video whose joins overlap by ``overlap`` (a transition):
    from the middle of the window before it to the middle of the one after. Planned with
    these, the music changes in the middle of each transition and the track is exactly
    the video's length (``video_seconds``)."""
    last = len(clip_durations) - 1
    return [d - (overlap / 2 if i > 0 else 0.0) - (overlap / 2 if i < last else 0.0)
            for i, d in enumerate(clip_durations)]


def joined_length(durations: Sequence[float], crossfade: float = CROSSFADE) -> float:
    return sum(durations) - crossfade * max(0, len(durations) - 1)


def requested_seconds(duration: float) -> int:
    """What MusicGen is asked for: the next whole second, within its cap."""
    return max(1, min(MUSICGEN_MAX_SECONDS, math.ceil(duration - 1e-6)))


def planned(segments: Sequence[Segment]) -> list[PlannedScene]:
    """The segments as sub-jobs to render (one SceneActor each, one after another)."""
    return [PlannedScene(scene_number=number, prompt=segment.prompt,
                         duration=segment.duration, model=MUSIC_MODEL,
                         input={"sceneType": segment.scene_type, "crossfade": CROSSFADE})
            for number, segment in enumerate(segments, start=1)]


@dataclass(frozen=True)
class MadeMusic:
    """The segments of a chain that were made (in order, up to the first that was not)."""

    segments: list[SubJob]
    error: str | None
    cost: float

    @property
    def complete(self) -> bool:
        return self.error is None


class SoundtrackMaker:
    """Inputs for each music segment, and the joined track from the stored segments."""

    def __init__(self, deps: PipelineDeps) -> None:
        self.deps = deps

    def music_input(self, job: Job, segment: SubJob) -> MusicInput:
        previous: ImageInput | None = None
        previous_seconds = 0.0
        if segment.scene_number > 1:
            with self.deps.db.read() as conn:
                made = {s.scene_number: s for s in job_store.list_sub_jobs(conn, job.id,
                                                                           kind="music")}
            before = made.get(segment.scene_number - 1)
            if before is None or not before.clip_blob_id:
                raise PipelineError(f"Music segment {segment.scene_number} has nothing to "
                                    "continue from")
            info = blobs.blob_info(self.deps.db, before.clip_blob_id)
            previous = ImageInput("", "audio/mpeg", info.size, info.id)
            previous_seconds = float(requested_seconds(before.duration))
        return MusicInput(segment.prompt, requested_seconds(segment.duration),
                          continue_from=previous,
                          scene_type=str(segment.input.get("sceneType") or ""),
                          continue_from_seconds=previous_seconds)

    def made(self, job: Job) -> MadeMusic:
        with self.deps.db.read() as conn:
            segments = job_store.list_sub_jobs(conn, job.id, kind="music")
        done: list[SubJob] = []
        error = None
        for segment in segments:
            if segment.status != "completed" or not segment.clip_blob_id:
                error = (f"Music segment {segment.scene_number} of {len(segments)} failed: "
                         f"{segment.error or segment.status}")
                break
            done.append(segment)
        if not segments:
            error = "No music segments were planned"
        return MadeMusic(done, error, round(sum(s.cost or 0.0 for s in segments), 5))

    def segments(self, music: MadeMusic, workdir: Path) -> Segments:
        """The made segments copied out to ``workdir``, with the lengths they were planned
        at and the crossfade that joins them on the cuts."""
        if not music.segments:
            raise PipelineError(music.error or "No music was made")
        parts: list[tuple[Path, float]] = []
        for segment in music.segments:
            path = workdir / f"music_{segment.scene_number:02d}.audio"
            with path.open("wb") as handle:
                assert segment.clip_blob_id is not None
                blobs.copy_blob_to_file(self.deps.db, segment.clip_blob_id, handle)
            parts.append((path, segment.duration))
        return Segments(tuple(parts), CROSSFADE)

    def join(self, music: MadeMusic, workdir: Path, ffmpeg: FFmpeg, *, total: float,
             master: bool = False) -> Path:
        """The made segments joined with crossfades on the cuts, exactly ``total`` seconds
        (with ``master``, faded and at −16 LUFS: the audio job's deliverable)."""
        made = self.segments(music, workdir)
        return join_audio(ffmpeg, made.parts, workdir / "soundtrack.m4a",
                          crossfade=made.crossfade, total=total, master=master)
