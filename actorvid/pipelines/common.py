"""What every video job type shares: scenes from the storyboard, render inputs, the finish.

A pipeline is the thin adapter the JobActor calls (the :class:`~actorvid.actors.pipeline.
JobPipeline` protocol): it reads rows, asks the pure :mod:`actorvid.workflows` functions for
every decision, calls providers and ffmpeg for effects, and hands results back to the actor,
which writes the state transitions. ``finish`` can run again after a crash from the same stored
clips, so it writes only new blobs and never assumes it runs once.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from actorvid import tempspace
from actorvid.actors.pipeline import FinishedVideo, NormalisedClip, PlannedScene
from actorvid.domain.creative import (
    CreativeOptions,
    Transition,
)
from actorvid.domain.models import frame_size
from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.output import FPS
from actorvid.media.shots import (
    Joined,
    Shot,
    join_shots,
    joined_frames,
    normalise_shot,
    overlaps,
    read_shot,
)
from actorvid.media.stitch import score_shots, video_thumbnail
from actorvid.media.thumbnail import frame_time
from actorvid.pipelines.cards import music_lengths, with_cards
from actorvid.pipelines.deps import PipelineDeps, PipelineError, owner_scope, stored_image
from actorvid.pipelines.soundtrack import (
    SoundtrackMaker,
    plan_segments,
    planned,
)
from actorvid.providers.base import ImageInput, MusicInput, RenderInput
from actorvid.store import assets as asset_store
from actorvid.store import blobs
from actorvid.store import clients as client_store
from actorvid.store import jobs as job_store
from actorvid.store.jobs import Job, SubJob
from actorvid.workflows.brand import first_brand_color
from actorvid.workflows.scenes import pair_template

logger = logging.getLogger(__name__)


class VideoPipeline:
    """The render and finish halves, shared by image-pair, property and standard jobs."""

    def __init__(self, deps: PipelineDeps) -> None:
        self.deps = deps

    # --- render ---------------------------------------------------------------------------

    def scenes(self, job: Job) -> Sequence[PlannedScene]:
        board = job.board
        planned = [PlannedScene(
            scene_number=scene.scene_number, prompt=scene.prompt or "",
            duration=scene.duration, model=scene.model or "veo3",
            first_asset_id=scene.first_asset_id, last_asset_id=scene.last_asset_id,
            input={"resolution": scene.resolution or "",
                   "aspectRatio": scene.aspect_ratio or "16:9",
                   "sceneType": scene.scene_type or "",
                   "sceneId": scene.id})
            for scene in (board.scenes if board else ())]
        if not planned:
            raise PipelineError("The storyboard has no scenes")
        return planned

    def image_input(self, job: Job, asset_id: str | None) -> ImageInput | None:
        """The stored image a scene animates; None for a scene without one (it renders from
        its prompt alone). With a public base URL it carries a short-lived URL of ours."""
        if not asset_id:
            return None
        image = stored_image(self.deps, asset_id, owner_scope(job))
        base = self.deps.settings.public_base_url
        if not base:
            return image
        token = self.deps.accounts.mint_access_token(
            job.user_id, asset_store.access_resource(asset_id))
        return replace(image, access_url=f"{base}/api/v3/assets/{asset_id}/data?token={token}")

    def soundtrack(self, job: Job, clips: Sequence[SubJob]) -> Sequence[PlannedScene]:
        """One music segment per rendered clip, when the request asked for a soundtrack."""
        if not job.params.generate_audio or not clips:
            return []
        board = job.board.by_number() if job.board else {}
        ordered = sorted(clips, key=lambda c: c.scene_number)
        scenes = [board.get(c.scene_number) for c in ordered]
        prompts = [(s and s.music_prompt) or pair_template(c.scene_number).music_prompt
                   for s, c in zip(scenes, ordered, strict=True)]
        lengths = music_lengths(self.creative(job), [float(c.duration) for c in ordered])
        return planned(plan_segments(prompts, lengths,
                                     scene_types=[(s and s.scene_type) or "" for s in scenes]))

    def render_input(self, job: Job, sub_job: SubJob) -> RenderInput | MusicInput:
        if sub_job.kind == "music":
            return SoundtrackMaker(self.deps).music_input(job, sub_job)
        first = self.image_input(job, sub_job.first_asset_id)
        last = self.image_input(job, sub_job.last_asset_id or sub_job.first_asset_id)
        model = sub_job.model if sub_job.model in ("veo3", "hailuo") else "veo3"
        return RenderInput(model=model, first_frame=first, last_frame=last,  # type: ignore[arg-type]
                           prompt=sub_job.prompt, duration=int(round(sub_job.duration)),
                           aspect_ratio=self.aspect_ratio(job, sub_job),  # type: ignore[arg-type]
                           resolution=sub_job.input.get("resolution") or "720p",
                           background="" if first else self.brand_color(job))

    def aspect_ratio(self, job: Job, sub_job: SubJob) -> str:
        """The job's frame ratio (1:1 included: each provider makes what it can of it, see
        ``models.frame_ratio``); a job from before the creative options keeps its scene's."""
        params = job.params
        if params.options_given:
            return params.creative.aspect_ratio
        return str(sub_job.input.get("aspectRatio") or "16:9")

    def brand_color(self, job: Job) -> str:
        """The client's first brand colour (``RRGGBB``), for text-only clips; else ""."""
        if not job.client_id:
            return ""
        with self.deps.db.read() as conn:
            client = client_store.get_client(conn, job.client_id, scope=owner_scope(job))
        return first_brand_color(client.brand_guidelines if client else None)

    # --- shots and finish -----------------------------------------------------------------

    def creative(self, job: Job) -> CreativeOptions:
        """The job's creative options (a job stored before them keeps its ratio, the rest
        reads as the defaults)."""
        return job.params.creative

    def frame(self, job: Job) -> tuple[int, int]:
        """The output frame: the creative options' when the job has them; else, as before
        them, ``aspectRatio`` (or ``creative.videoSpecs.format``) at the scenes' resolution."""
        if job.params.options_given:
            return self.creative(job).frame_size()
        board = job.board
        first = board.scenes[0].resolution if board and board.scenes else None
        return frame_size(first or "720p", self.creative(job).aspect_ratio)

    def normalise(self, job: Job, clip: SubJob) -> NormalisedClip:
        """Convert a stored clip into the job's shot and store it (on the media pool, as the
        clip arrives; the JobActor records the blob in the clip's row)."""
        if not clip.clip_blob_id:
            raise PipelineError(f"Scene {clip.scene_number} has no stored clip")
        workdir = tempspace.make_dir(f"actorvid-job{job.id}-shot{clip.scene_number}-")
        try:
            shot = self._make_shot(job, clip, workdir, self.deps.ffmpeg())
            with shot.path.open("rb") as handle:
                blob = blobs.write_blob_from_file(self.deps.db, handle)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return NormalisedClip(clip.id, clip.clip_blob_id, blob.id)

    def _make_shot(self, job: Job, clip: SubJob, workdir: Path, ffmpeg: FFmpeg) -> Shot:
        assert clip.clip_blob_id is not None
        options = self.creative(job)
        width, height = self.frame(job)
        source = workdir / f"clip_{clip.scene_number:03d}.mp4"
        with source.open("wb") as handle:
            blobs.copy_blob_to_file(self.deps.db, clip.clip_blob_id, handle)
        return normalise_shot(ffmpeg, source, workdir / f"shot_{clip.scene_number:03d}.mp4",
                              width=width, height=height, fit=options.fit,
                              transition=options.transition)

    def _shot(self, job: Job, clip: SubJob, workdir: Path, ffmpeg: FFmpeg) -> Shot:
        """The clip's stored shot, or (a row from before shots, or one whose normalising
        failed) a shot made now."""
        if not clip.clip_blob_id:
            raise PipelineError(f"Scene {clip.scene_number} has no stored clip")
        if not clip.shot_blob_id:
            logger.info("job %d: scene %d has no shot yet; normalising it now", job.id,
                        clip.scene_number)
            return self._make_shot(job, clip, workdir, ffmpeg)
        path = workdir / f"shot_{clip.scene_number:03d}.mp4"
        with path.open("wb") as handle:
            blobs.copy_blob_to_file(self.deps.db, clip.shot_blob_id, handle)
        return read_shot(path)

    def finish(self, job: Job, clips: Sequence[SubJob]) -> FinishedVideo:
        """Join the completed clips' shots in scene order (a stream copy; transitions encode
        only their windows), lay the soundtrack under them, store the result."""
        with self.deps.db.read() as conn:
            every = job_store.list_sub_jobs(conn, job.id)
        failed = [s for s in every if s.status != "completed"]
        clips = sorted(clips, key=lambda s: s.scene_number)
        if not clips:
            raise PipelineError("No scene rendered")
        ffmpeg = self.deps.ffmpeg()
        options = self.creative(job)
        width, height = self.frame(job)
        workdir = tempspace.make_dir(f"actorvid-job{job.id}-")
        created: list[str] = []
        try:
            shots = [self._shot(job, clip, workdir, ffmpeg) for clip in clips]
            # The title and end cards (when asked for) join as the first and last shots.
            shots = with_cards(self.deps, job, options, shots, workdir, ffmpeg)
            audio_info: dict[str, Any] | None = None
            audio_blob_id: str | None = None
            joined: Joined | None = None
            # The thumbnail's frame is already on disk in the first shot (the join copies
            # it): take it there, beside the join, instead of from the finished video after.
            with ThreadPoolExecutor(max_workers=1) as beside:
                thumbnail = beside.submit(self._thumbnail, shots, options.transition, workdir,
                                          ffmpeg)
                if job.params.generate_audio:
                    joined, audio_blob_id, audio_info = self.add_soundtrack(
                        job, shots, workdir, ffmpeg, options=options)
                    if audio_blob_id:
                        created.append(audio_blob_id)
                if joined is None:
                    joined = join_shots(ffmpeg, shots, workdir / "joined.mp4",
                                        transition=options.transition)
                thumb = thumbnail.result()
            final_path = joined.path
            if thumb is None:
                thumb = video_thumbnail(ffmpeg, final_path, workdir / "thumb.jpg",
                                        duration=joined.duration)
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
            "duration": round(joined.duration, 3),
            "width": width,
            "height": height,
            "clipCount": len(clips),
            "partial": bool(failed),
            "failedScenes": [{"sceneNumber": s.scene_number, "status": s.status,
                              "error": s.error} for s in failed],
            "size": video_blob.size,
        }
        if audio_info is not None:
            result["audio"] = audio_info
        logger.info("job %d: joined %d shots into %.2fs (%d frames re-encoded, %d failed)",
                    job.id, len(clips), joined.duration, joined.encoded_frames, len(failed))
        return FinishedVideo(video_blob.id, result, thumbnail_blob_id=thumb_blob.id,
                             audio_blob_id=audio_blob_id)

    def _thumbnail(self, shots: Sequence[Shot], transition: Transition, workdir: Path,
                   ffmpeg: FFmpeg) -> Path | None:
        """The video's thumbnail (``video_thumbnail``'s frame) from the first shot, which the
        join copies frame for frame up to its transition window; None in the rare case the
        frame lies beyond that (a first shot shorter than about 1 s): the caller takes it
        from the finished video."""
        duration = joined_frames(shots, transition) / FPS
        copied = shots[0].frames - (overlaps(len(shots) - 1, transition) or [0])[0]
        if frame_time(duration) * FPS + 1 > copied:
            return None
        return video_thumbnail(ffmpeg, shots[0].path, workdir / "thumb.jpg", duration=duration)

    def add_soundtrack(self, job: Job, shots: Sequence[Shot], workdir: Path, ffmpeg: FFmpeg,
                       *, options: CreativeOptions
                       ) -> tuple[Joined | None, str | None, dict[str, Any]]:
        """Join ``shots`` with the music segments made laid under them, the sound encoded
        once (:func:`~actorvid.media.stitch.score_shots`); without them None (the caller
        joins the shots alone, the video without music) and say why."""
        maker = SoundtrackMaker(self.deps)
        music = maker.made(job)
        provider = getattr(self.deps.music, "name", "")
        if not music.complete:
            logger.warning("job %d: soundtrack failed, keeping the silent video: %s", job.id,
                           music.error)
            return None, None, {"status": "failed", "requested": True, "error": music.error,
                                "provider": provider, "cost": music.cost}
        duration = joined_frames(shots, options.transition) / FPS
        track = workdir / "soundtrack.m4a"
        try:
            # The stored music track comes out of the mix's own run (or, with silent clips,
            # is the video's sound itself): no separate join and encode of the segments.
            scored = score_shots(ffmpeg, shots, maker.segments(music, workdir),
                                 workdir / "scored.mp4", transition=options.transition,
                                 volume=options.music_volume, track=track)
        except (PipelineError, MediaError) as exc:
            logger.warning("job %d: soundtrack failed, keeping the silent video: %s", job.id,
                           exc)
            return None, None, {"status": "failed", "requested": True,
                                "error": "The music could not be laid under the video"}
        with track.open("rb") as handle:
            audio = blobs.write_blob_from_file(self.deps.db, handle)
        return scored, audio.id, {
            "status": "completed", "requested": True, "duration": round(duration, 3),
            "segments": len(music.segments), "provider": provider, "cost": music.cost}
