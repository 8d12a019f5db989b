"""What every video job type shares: scenes from the storyboard, render inputs, the finish.

A pipeline is the thin adapter the JobActor calls (the :class:`~actorvid.actors.workflow.
JobWorkflow` protocol): it reads rows, asks the pure :mod:`actorvid.workflows` functions for
every decision, calls providers and ffmpeg for effects, and hands results back to the actor,
which writes the state transitions. ``finish`` can run again after a crash from the same stored
clips, so it writes only new blobs and never assumes it runs once.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actorvid.accounts import Accounts
from actorvid.actors.workflow import FinishedVideo, PlannedScene, StepError
from actorvid.clock import IdFactory, new_uuid, now_iso
from actorvid.config import Settings
from actorvid.errors import Conflict, MediaError
from actorvid.ingest import AssetIngestor
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.stitch import stitch, video_thumbnail
from actorvid.providers.base import (
    ImageInput,
    PredictionService,
    RenderInput,
    Selector,
    StoryboardWriter,
)
from actorvid.providers.models import frame_size
from actorvid.store import assets as asset_store
from actorvid.store import blobs
from actorvid.store import jobs as job_store
from actorvid.store.db import Database
from actorvid.store.jobs import Job, SubJob
from actorvid.store.models import Scope
from actorvid.workflows.storyboard import RenderOptions

logger = logging.getLogger(__name__)


class PipelineError(StepError):
    """A job cannot go on; the message is for the user (it becomes the job's error)."""


@dataclass
class PipelineDeps:
    """Everything a pipeline uses, given once by the app."""

    db: Database
    settings: Settings
    accounts: Accounts
    ingestor: AssetIngestor
    selector: Selector
    local_selector: Selector
    writer: StoryboardWriter
    renderer_name: str
    music: PredictionService | None = None
    ffmpeg_locator: Callable[[], FFmpeg] | None = None
    new_id: IdFactory = new_uuid

    def ffmpeg(self) -> FFmpeg:
        if self.ffmpeg_locator is not None:
            return self.ffmpeg_locator()
        return FFmpeg.locate(self.settings.ffmpeg)


def render_options(deps: PipelineDeps, parameters: dict[str, Any]) -> RenderOptions:
    return RenderOptions(model=parameters.get("videoModel") or "veo3",
                         clip_duration=parameters.get("clipDuration"),
                         resolution=parameters.get("resolution") or "",
                         aspect_ratio=parameters.get("aspectRatio") or "16:9",
                         provider=deps.renderer_name)


def owner_scope(job: Job) -> Scope:
    return Scope(job.user_id)


class VideoPipeline:
    """The render and finish halves, shared by image-pair, property and standard jobs."""

    def __init__(self, deps: PipelineDeps) -> None:
        self.deps = deps

    # --- render ---------------------------------------------------------------------------

    def scenes(self, job: Job) -> Sequence[PlannedScene]:
        board = job.storyboard or {}
        planned = []
        for scene in board.get("scenes", []):
            planned.append(PlannedScene(
                scene_number=scene["sceneNumber"], prompt=scene.get("prompt", ""),
                duration=float(scene["duration"]), model=scene.get("model", "veo3"),
                first_asset_id=scene.get("firstAssetId"), last_asset_id=scene.get("lastAssetId"),
                input={"resolution": scene.get("resolution", ""),
                       "aspectRatio": scene.get("aspectRatio", "16:9"),
                       "sceneType": scene.get("sceneType", ""),
                       "sceneId": scene.get("id")}))
        if not planned:
            raise PipelineError("The storyboard has no scenes")
        return planned

    def image_input(self, job: Job, asset_id: str | None) -> ImageInput:
        if not asset_id:
            raise PipelineError("A scene has no image to animate")
        with self.deps.db.read() as conn:
            asset = asset_store.get_asset(conn, asset_id, scope=owner_scope(job))
        if asset is None or asset.asset_type != "image":
            raise PipelineError(f"Image {asset_id} of the storyboard no longer exists")
        access_url = ""
        base = self.deps.settings.public_base_url
        if base:
            token = self.deps.accounts.mint_access_token(
                job.user_id, asset_store.access_resource(asset.id))
            access_url = f"{base}/api/v3/assets/{asset.id}/data?token={token}"
        return ImageInput(asset.id, asset.content_type, asset.size, asset.blob_id, access_url)

    def render_input(self, job: Job, sub_job: SubJob) -> RenderInput:
        first = self.image_input(job, sub_job.first_asset_id)
        last = self.image_input(job, sub_job.last_asset_id or sub_job.first_asset_id)
        model = sub_job.model if sub_job.model in ("veo3", "hailuo") else "veo3"
        return RenderInput(model=model, first_frame=first, last_frame=last,  # type: ignore[arg-type]
                           prompt=sub_job.prompt, duration=int(round(sub_job.duration)),
                           aspect_ratio=sub_job.input.get("aspectRatio", "16:9"),
                           resolution=sub_job.input.get("resolution") or "720p")

    # --- finish ---------------------------------------------------------------------------

    def finish(self, job: Job, clips: Sequence[SubJob]) -> FinishedVideo:
        """Stitch the completed clips in scene order, add the soundtrack, store the result."""
        with self.deps.db.read() as conn:
            every = job_store.list_sub_jobs(conn, job.id)
        failed = [s for s in every if s.status != "completed"]
        clips = sorted(clips, key=lambda s: s.scene_number)
        if not clips:
            raise PipelineError("No scene rendered")
        ffmpeg = self.deps.ffmpeg()
        aspect = (job.parameters.get("aspectRatio")
                  or (job.parameters.get("creative") or {}).get("videoSpecs", {}).get("format")
                  or "16:9")
        width, height = frame_size(clips[0].input.get("resolution") or "720p", aspect)
        workdir = Path(tempfile.mkdtemp(prefix=f"actorvid-job{job.id}-"))
        created: list[str] = []
        try:
            paths = []
            for clip in clips:
                if not clip.clip_blob_id:
                    raise PipelineError(f"Scene {clip.scene_number} has no stored clip")
                path = workdir / f"clip_{clip.scene_number:03d}.mp4"
                with path.open("wb") as handle:
                    blobs.copy_blob_to_file(self.deps.db, clip.clip_blob_id, handle)
                paths.append(path)
            stitched = stitch(ffmpeg, paths, workdir / "stitched.mp4", width=width,
                              height=height)
            final_path = stitched.path
            audio_info: dict[str, Any] | None = None
            audio_blob_id: str | None = None
            if job.parameters.get("generateAudio"):
                final_path, audio_blob_id, audio_info = self.add_soundtrack(
                    job, clips, stitched.path, stitched.duration, workdir, ffmpeg)
                if audio_blob_id:
                    created.append(audio_blob_id)
            thumb = video_thumbnail(ffmpeg, final_path, workdir / "thumb.jpg",
                                    duration=stitched.duration)
            with final_path.open("rb") as handle:
                video_blob = blobs.write_blob_from_file(self.deps.db, handle)
            created.append(video_blob.id)
            with thumb.open("rb") as handle:
                thumb_blob = blobs.write_blob_from_file(self.deps.db, handle)
            created.append(thumb_blob.id)
        except BaseException:
            for blob_id in created:
                blobs.delete_blob(self.deps.db, blob_id)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        result: dict[str, Any] = {
            "duration": round(stitched.duration, 3),
            "width": stitched.width,
            "height": stitched.height,
            "clipCount": len(clips),
            "partial": bool(failed),
            "failedScenes": [{"sceneNumber": s.scene_number, "status": s.status,
                              "error": s.error} for s in failed],
            "size": video_blob.size,
        }
        if audio_info is not None:
            result["audio"] = audio_info
        logger.info("job %d: stitched %d clips into %.2fs (%d failed)", job.id, len(clips),
                    stitched.duration, len(failed))
        return FinishedVideo(video_blob.id, result, thumbnail_blob_id=thumb_blob.id,
                             audio_blob_id=audio_blob_id)

    def add_soundtrack(self, job: Job, clips: Sequence[SubJob], video: Path, duration: float,
                       workdir: Path, ffmpeg: FFmpeg) -> tuple[Path, str | None, dict[str, Any]]:
        """Make and mux the soundtrack; on failure keep the silent video and say why."""
        from actorvid.pipelines.soundtrack import score_video

        # Let pollers see the soundtrack step (resume treats it like stitching: finish again).
        with contextlib.suppress(Conflict), self.deps.db.write() as conn:
            job_store.set_job_stage(conn, job.id, expected_status="video_processing",
                                    status="video_processing", stage="soundtrack",
                                    expected_stage="stitching", now=now_iso())
        try:
            return score_video(self.deps, job, clips, video, duration, workdir, ffmpeg)
        except (PipelineError, MediaError) as exc:
            logger.warning("job %d: soundtrack failed, keeping the silent video: %s", job.id,
                           exc)
            return video, None, {"status": "failed", "requested": True, "error": str(exc)}
