"""Audio jobs (``POST /audio/generate-scenes``): a soundtrack only, no video."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actorvid.actors.workflow import FinishedVideo, PlannedScene, Storyboard
from actorvid.media.stitch import join_audio
from actorvid.pipelines.common import PipelineDeps, PipelineError
from actorvid.pipelines.soundtrack import CROSSFADE, plan_segments, run_chain
from actorvid.providers.base import MusicInput, RenderInput
from actorvid.store import blobs
from actorvid.store.jobs import Job, SubJob


class AudioPipeline:
    """Scenes with prompts and durations → one track of their total length."""

    def __init__(self, deps: PipelineDeps) -> None:
        self.deps = deps

    def prepare(self, job: Job) -> Storyboard:
        default = float(job.parameters.get("default_duration") or 4.0)
        scenes = [{"sceneNumber": int(s["scene_number"]), "prompt": s["prompt"],
                   "duration": float(s.get("duration") or default)}
                  for s in sorted(job.parameters["scenes"], key=lambda s: s["scene_number"])]
        board = {"scenes": scenes, "totalDuration": round(sum(s["duration"] for s in scenes), 3),
                 "provider": getattr(self.deps.music, "name", "")}
        return Storyboard(board, None, auto_approve=True)

    def scenes(self, job: Job) -> Sequence[PlannedScene]:
        return []  # nothing to render: the whole job is its finish

    def render_input(self, job: Job, sub_job: SubJob) -> RenderInput | MusicInput:
        raise PipelineError("audio jobs render no clips")

    def finish(self, job: Job, clips: Sequence[SubJob]) -> FinishedVideo:
        board = job.storyboard or {}
        scenes = board.get("scenes", [])
        total = float(board.get("totalDuration") or 0)
        segments = plan_segments([s["prompt"] for s in scenes], [s["duration"] for s in scenes],
                                 total)
        workdir = Path(tempfile.mkdtemp(prefix=f"actorvid-audio{job.id}-"))
        try:
            chain = run_chain(self.deps, job, segments, workdir)
            for blob_id in chain.blob_ids:
                blobs.delete_blob(self.deps.db, blob_id)
            if not chain.files:
                raise PipelineError(chain.error or "No music was made")
            # Keep what was made: a failed chain still yields the segments before the failure.
            made = total if chain.error is None else (
                sum(s.duration for s in segments[:len(chain.files)])
                - CROSSFADE * (len(chain.files) - 1))
            track = join_audio(self.deps.ffmpeg(), chain.files, workdir / "track.m4a",
                               crossfade=CROSSFADE, total=made)
            with track.open("rb") as handle:
                stored = blobs.write_blob_from_file(self.deps.db, handle)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        audio: dict[str, Any] = {
            "status": "completed" if chain.error is None else "failed",
            "duration": round(made, 3), "segments": len(chain.files),
            "segmentsRequested": len(segments), "provider": getattr(self.deps.music, "name", ""),
            "audioUrl": f"/api/v3/audio/{job.id}/download", "cost": round(chain.cost, 5)}
        if chain.error is not None:
            audio["error"] = chain.error
        result = {"duration": round(made, 3), "audio": audio,
                  "partial": chain.error is not None, "size": stored.size}
        return FinishedVideo(None, result, audio_blob_id=stored.id)
