"""How a job, its scenes and its clip renders look on the wire (camelCase, URLs built here).

Pure renderings of the rows (``store/jobs.py``): the one job and the job list, the storyboard's
scenes with what renders them, the sub-jobs, the creative options. The progress object is
derived from the rows on every read (``workflows/progress.py``), never stored.
"""

from __future__ import annotations

from typing import Any

from actorvid.api.paths import API
from actorvid.domain.creative import CreativeOptions
from actorvid.domain.storyboard import Scene, Storyboard
from actorvid.store import job_views
from actorvid.store.jobs import Job, SubJob
from actorvid.workflows.progress import job_progress


def clip_url(job_id: int, scene_number: int) -> str:
    """Where a rendered clip of the job is served (``api/media_routes.py``)."""
    return f"{API}/videos/{job_id}/clips/clip_{scene_number:03d}.mp4"



def progress_view(job: Job, counts: job_views.JobCounts) -> dict[str, Any]:
    """The client-facing progress, derived from the rows (never stored)."""
    return job_progress(status=job.status, stage=job.stage, error=job.error,
                        planned_scenes=len(job.board.scenes) if job.board else 0,
                        clips=counts.clips, music=counts.music,
                        note=job.progress.get("note"))


def audio_view(job: Job) -> dict[str, Any]:
    """The job's soundtrack: not requested, requested, being made, or what was made."""
    if not job.params.generate_audio and job.type != "audio":
        return {"status": "not_requested"}
    audio = stored_audio(job)
    if audio:
        return audio
    if job.status in ("failed", "cancelled"):
        return {"status": job.status, "requested": True}
    return {"status": "processing" if job.status == "video_processing" else "requested",
            "requested": True}


def camel(name: str) -> str:
    """``first_asset_id`` → ``firstAssetId``: the wire's name of a field."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def storyboard_view(board: Storyboard | None) -> dict[str, Any] | None:
    """The storyboard on the wire: its document (``domain/storyboard.py``) with camelCase
    keys, the shape it has always had; the one place its keys are named so."""
    return _wire(board.to_document()) if board else None


def _wire(document: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for key, value in document.items():
        if key == "version":
            continue
        if key == "extra":
            view.update(value)  # keys of an older row, kept as they were written
            continue
        if key == "scenes":
            value = [_wire(scene) for scene in value]
        elif key == "selection":
            value = _wire(value)
        view[camel(key)] = value
    return view


def stored_audio(job: Job) -> dict[str, Any]:
    """What the finish step recorded of the job's soundtrack (``jobs.result.audio``), with
    the URL of the stored track. The pipelines store no URLs: they are built here; a row
    from before that has the same URL stored already."""
    audio = dict((job.result or {}).get("audio") or {})
    if audio and job.audio_blob_id:
        audio["audioUrl"] = audio_url(job.id)
    return audio


def audio_url(job_id: int) -> str:
    """Where a job's soundtrack is served (``api/media_routes.py``)."""
    return f"{API}/audio/{job_id}/download"


def scene_view(job: Job, scene: Scene, sub: SubJob | None) -> dict[str, Any]:
    """A storyboard scene in the old contract's Scene shape, plus what renders it."""
    view = {
        "id": scene.id,
        "jobId": job.id,
        "sceneNumber": scene.scene_number,
        "duration": scene.duration,
        "description": scene.description or "",
        "script": scene.script,
        "shotType": scene.shot_type,
        "transition": scene.transition,
        "assets": list(scene.assets or ()),
        "metadata": dict(scene.metadata or {}),
        "sceneType": scene.scene_type,
        "prompt": scene.prompt,
        "firstAssetId": scene.first_asset_id,
        "lastAssetId": scene.last_asset_id,
        "model": scene.model,
        "provider": scene.provider,
        "estimatedCost": scene.estimated_cost,
        "adjustments": [a.to_document() for a in scene.adjustments or ()],
        "status": sub.status if sub else "planned",
        "clipUrl": (clip_url(job.id, scene.scene_number) if sub and sub.clip_blob_id
                    else None),
        "error": sub.error if sub else None,
        "createdAt": job.created_at,
        "updatedAt": sub.updated_at if sub else job.updated_at,
    }
    return view


def sub_job_view(sub: SubJob) -> dict[str, Any]:
    return {
        "id": sub.id,
        "jobId": sub.job_id,
        "subJobNumber": sub.scene_number,
        "image1AssetId": sub.first_asset_id,
        "image2AssetId": sub.last_asset_id,
        "replicatePredictionId": sub.provider_id,
        "provider": sub.provider,
        "modelId": sub.model,
        "inputParameters": {"prompt": sub.prompt, "duration": sub.duration,
                            "scene_number": sub.scene_number},
        "status": sub.status,
        "progress": 1.0 if sub.status == "completed" else 0.0,
        "videoUrl": clip_url(sub.job_id, sub.scene_number) if sub.clip_blob_id else None,
        "durationSeconds": sub.duration if sub.clip_blob_id else None,
        "estimatedCost": None,
        "actualCost": sub.cost or 0.0,
        "errorMessage": sub.error,
        "retryCount": max(0, sub.attempts - 1),
        "startedAt": sub.started_at,
        "completedAt": sub.completed_at,
        "createdAt": sub.created_at,
        "updatedAt": sub.updated_at,
    }


def job_view(job: Job, counts: job_views.JobCounts, subs: list[SubJob]) -> dict[str, Any]:
    by_number = {s.scene_number: s for s in subs}
    board = job.board
    result = job.result or {}
    return {
        "id": str(job.id),
        "type": job.type,
        "status": job.status,
        "progress": progress_view(job, counts),
        "storyboard": storyboard_view(board),
        "scenes": [scene_view(job, s, by_number.get(s.scene_number))
                   for s in (board.scenes if board else ())],
        "videoUrl": f"/api/v3/videos/{job.id}/data" if job.video_blob_id else None,
        "thumbnailUrl": (f"/api/v3/videos/{job.id}/thumbnail" if job.thumbnail_blob_id
                         else None),
        "duration": result.get("duration"),
        "clipCount": result.get("clipCount"),
        "partial": bool(result.get("partial", False)),
        "failedScenes": result.get("failedScenes", []),
        "error": job.error,
        "estimatedCost": job.estimated_cost or 0.0,
        "actualCost": job.actual_cost or 0.0,
        "audio": audio_view(job),
        "creativeOptions": creative_view(job),
        "provider": job.provider,
        "campaignId": job.campaign_id,
        "clientId": job.client_id,
        "approvedAt": job.approved_at,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "completedAt": job.completed_at,
    }


def options_view(options: CreativeOptions) -> dict[str, Any]:
    """Creative options as the request names them, with the frame they make."""
    view = options.to_document()
    view.pop("version", None)
    width, height = options.frame_size()
    return {**view, "frameSize": {"width": width, "height": height}}


def creative_view(job: Job) -> dict[str, Any]:
    """The job's creative options (the defaults for a job from before they existed)."""
    params = job.params
    return options_view(params.creative if params.options_given else CreativeOptions())


