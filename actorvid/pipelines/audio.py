"""Audio jobs (``POST /audio/generate-scenes``): a soundtrack only, no video.

The job renders no clips; its scenes become the music segments of one chain (SceneActors, one
after another, as for a video's soundtrack), and ``finish`` joins what was made.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

from actorvid import tempspace
from actorvid.actors.pipeline import FinishedVideo, PlannedScene, Storyboard
from actorvid.domain.storyboard import Scene
from actorvid.domain.storyboard import Storyboard as Board
from actorvid.pipelines.deps import PipelineDeps, PipelineError
from actorvid.pipelines.soundtrack import (
    CROSSFADE,
    SoundtrackMaker,
    joined_length,
    plan_segments,
    planned,
)
from actorvid.providers.base import MusicInput, RenderInput
from actorvid.store import blobs
from actorvid.store.jobs import Job, SubJob


class AudioPipeline:
    """Scenes with prompts and durations → one track of their total length."""

    def __init__(self, deps: PipelineDeps) -> None:
        self.deps = deps

    def prepare(self, job: Job) -> Storyboard:
        params = job.params
        scenes = tuple(Scene(scene_number=s.scene_number, prompt=s.prompt,
                             duration=s.duration or params.default_duration)
                       for s in sorted(params.audio_scenes, key=lambda s: s.scene_number))
        board = Board(scenes, total_duration=round(sum(s.duration for s in scenes), 3),
                      provider=getattr(self.deps.music, "name", ""))
        return Storyboard(board.to_document(), None, auto_approve=True)

    def scenes(self, job: Job) -> Sequence[PlannedScene]:
        return []  # nothing to render: the whole job is its soundtrack

    def soundtrack(self, job: Job, clips: Sequence[SubJob]) -> Sequence[PlannedScene]:
        scenes = job.board.scenes if job.board else ()
        return planned(plan_segments([s.prompt or "" for s in scenes],
                                     [s.duration for s in scenes]))

    def render_input(self, job: Job, sub_job: SubJob) -> RenderInput | MusicInput:
        if sub_job.kind != "music":
            raise PipelineError("audio jobs render no clips")
        return SoundtrackMaker(self.deps).music_input(job, sub_job)

    def finish(self, job: Job, clips: Sequence[SubJob]) -> FinishedVideo:
        maker = SoundtrackMaker(self.deps)
        music = maker.made(job)
        if not music.segments:
            raise PipelineError(music.error or "No music was made")
        # Keep what was made: a broken chain still yields the segments before the failure.
        made = joined_length([s.duration for s in music.segments], CROSSFADE)
        board = job.board
        if music.complete and board and board.total_duration:
            made = board.total_duration
        workdir = tempspace.make_dir(f"actorvid-audio{job.id}-")
        try:
            track = maker.join(music, workdir, self.deps.ffmpeg(), total=made, master=True)
            with track.open("rb") as handle:
                stored = blobs.write_blob_from_file(self.deps.db, handle)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        audio: dict[str, Any] = {
            "status": "completed" if music.complete else "failed",
            "duration": round(made, 3), "segments": len(music.segments),
            "segmentsRequested": len(board.scenes) if board else 0,
            "provider": getattr(self.deps.music, "name", ""), "cost": music.cost}
        if music.error is not None:
            audio["error"] = music.error
        result = {"duration": round(made, 3), "audio": audio,
                  "partial": not music.complete, "size": stored.size}
        return FinishedVideo(None, result, audio_blob_id=stored.id)
