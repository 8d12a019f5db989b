"""``/api/v3/jobs``: create video jobs, follow them, approve, cancel, edit their scenes.

Handlers validate, write the first row and tell the Coordinator; they never render, select or
call a paid provider themselves. What a job *is* comes from the rows: status and stage from
``jobs``, per-scene state from ``sub_jobs``; the progress object is derived from them on read,
so no two writers can make it move backwards.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import falcon

from actorvid.actors.runtime import CoordinatorHandle
from actorvid.api import previews
from actorvid.api.assets import url_import
from actorvid.api.campaigns import load_campaign
from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page
from actorvid.api.validation import (
    Field,
    Schema,
    pagination,
    query_enum,
    query_int,
    query_str,
    read_json,
)
from actorvid.clock import isoformat_z
from actorvid.domain import creative
from actorvid.domain.creative import Card, CreativeOptions, Transition
from actorvid.domain.drafts import SelectedPair
from actorvid.domain.models import scene_count_for_duration
from actorvid.domain.preview import preview_wish
from actorvid.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from actorvid.ingest import AssetIngestor, AssetSpec
from actorvid.media.cards import undrawable
from actorvid.store import clients as client_store
from actorvid.store import job_views, stamps
from actorvid.store import jobs as job_store
from actorvid.store.jobs import Job, SubJob
from actorvid.workflows import brief
from actorvid.workflows.progress import job_progress
from actorvid.workflows.scenes import pair_template
from actorvid.workflows.storyboard import RenderOptions, estimate, pairs_storyboard, summarize

VIDEO_MODELS = ("veo3", "hailuo")
# Issue 19: a free local preview of the storyboard (default: yes, unless autoApprove).
PREVIEW_FIELDS = (
    Field("preview", "boolean", nullable=True,
          description="Render a free local preview of the storyboard (default: true, "
                      "false with autoApprove)"),
    Field("keepPreview", "boolean", default=False,
          description="Keep the preview after the job completes"),
)
ASPECTS = creative.ASPECT_RATIOS
# The clip sizes the models take; the finished video is 720p unless 1080p is asked for.
RESOLUTIONS = ("512p", "720p", "768p", "1080p")
CREATIVE_OPTIONS_KEY = creative.PARAMETERS_KEY

CARD = Schema((
    Field("text", "string", required=True, min_length=1, max_length=120,
          description="The card's main line (wraps and shrinks to fit the frame)."),
    Field("subtitle", "string", nullable=True, max_length=200, default=""),
    Field("seconds", "number", nullable=True, minimum=creative.CARD_SECONDS[0],
          maximum=creative.CARD_SECONDS[1], default=creative.DEFAULT_CARD_SECONDS),
    Field("background", "string", nullable=True, enum=creative.CARD_BACKGROUNDS,
          default="still", description="still: a softened still of the neighbouring scene; "
                                       "brand: the client's brand colour."),
), name="Card")

# The creative options every job request takes besides its frame shape (aspectRatio and
# resolution, which each request type already names in its own way).
CREATIVE_FIELDS = (
    Field("fit", "string", nullable=True, enum=creative.FITS, default="crop",
          description="How a clip of another shape fills the frame: crop at the centre, or "
                      "pad with black bars."),
    Field("transition", "string", nullable=True, enum=creative.TRANSITIONS, default="cut"),
    Field("transitionSeconds", "number", nullable=True, minimum=creative.TRANSITION_SECONDS[0],
          maximum=creative.TRANSITION_SECONDS[1], default=creative.DEFAULT_TRANSITION_SECONDS,
          description="Overlap of two shots for crossfade and fadeblack (the video gets this "
                      "much shorter per join)."),
    Field("titleCard", "object", nullable=True, schema=CARD,
          description="A card before the first scene."),
    Field("endCard", "object", nullable=True, schema=CARD,
          description="A card after the last scene."),
    Field("musicVolume", "number", nullable=True, minimum=0.0, maximum=1.0,
          default=creative.DEFAULT_MUSIC_VOLUME,
          description="Soundtrack level under any clip audio (the mix keeps its loudness)."),
)

_RENDER_FIELDS = (
    Field("clipDuration", "number", nullable=True, minimum=1, maximum=30),
    Field("videoModel", "string", nullable=True, enum=VIDEO_MODELS, default="veo3"),
    Field("aspectRatio", "string", nullable=True, enum=ASPECTS, default="16:9"),
    Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
    Field("autoApprove", "boolean", default=False),
    Field("generateAudio", "boolean", default=False),
    *CREATIVE_FIELDS,
    *PREVIEW_FIELDS,
)

IMAGE_PAIRS = Schema((
    Field("campaignId", "string", required=True, min_length=1, max_length=64),
    Field("clientId", "string", nullable=True, max_length=64),
    Field("numPairs", "integer", nullable=True, minimum=1, maximum=30, default=7),
    # Without it a photo appears in one pair at most, and a small campaign makes fewer scenes.
    Field("allowReuse", "boolean", default=False),
    *_RENDER_FIELDS,
), name="ImagePairsJobRequest")

_STRING_LIST = Field("items", "array", nullable=True, items=Field("item", "string",
                                                                  max_length=200),
                     max_items=50)

PROPERTY_INFO = Schema(tuple(Field(name, "string", required=True, min_length=1, max_length=500)
                             for name in ("name", "location", "propertyType", "positioning")),
                       name="PropertyInfo")

PHOTO = Schema((
    Field("id", "string", required=True, min_length=1, max_length=200),
    Field("url", "string", required=True, min_length=1, max_length=4096),
    Field("filename", "string", nullable=True, max_length=500),
    Field("tags", "array", nullable=True, items=_STRING_LIST.items, max_items=50),
    Field("dominantColors", "array", nullable=True, items=_STRING_LIST.items, max_items=50),
    Field("detectedObjects", "array", nullable=True, items=_STRING_LIST.items, max_items=50),
    Field("composition", "string", nullable=True, max_length=500),
    Field("lighting", "string", nullable=True, max_length=500),
    Field("resolution", "string", nullable=True, max_length=50),
    Field("aspectRatio", "string", nullable=True, max_length=50),
), name="PropertyPhoto")

PROPERTY = Schema((
    Field("propertyInfo", "object", required=True, schema=PROPERTY_INFO),
    Field("photos", "array", required=True, min_items=14, max_items=100,
          items=Field("photo", "object", schema=PHOTO)),
    Field("campaignId", "string", required=True, min_length=1, max_length=64),
    *(f if f.name != "clipDuration" else Field("clipDuration", "number", nullable=True,
                                                minimum=1, maximum=30, default=6.0)
      for f in _RENDER_FIELDS),
), name="PropertyVideoRequest")

STANDARD = Schema((
    Field("context", "object", required=True, schema=Schema((
        Field("clientId", "string", required=True, min_length=1, max_length=64),
        Field("campaignId", "string", nullable=True, max_length=64),
        Field("userId", "string", nullable=True),
    ))),
    Field("adBasics", "object", required=True, schema=Schema(tuple(
        Field(name, "string", required=True, max_length=2000)
        for name in ("product", "targetAudience", "keyMessage", "callToAction")))),
    Field("creative", "object", required=True, schema=Schema((
        Field("videoSpecs", "object", required=True, schema=Schema((
            Field("duration", "number", required=True, minimum=4, maximum=120),
            # No default: absent, the top-level aspectRatio (or 16:9) decides.
            Field("format", "string", nullable=True, enum=ASPECTS),
            Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
        ))),
        Field("direction", "object", required=True, schema=Schema((
            Field("style", "string", required=True, max_length=500),
            Field("tone", "string", nullable=True, max_length=500),
            Field("visualElements", "array", nullable=True, items=_STRING_LIST.items,
                  max_items=50),
            Field("musicStyle", "string", nullable=True, max_length=500),
        ))),
        Field("assets", "array", nullable=True, max_items=20, items=Field(
            "asset", "object", schema=Schema((
                Field("url", "string", nullable=True, max_length=4096),
                Field("assetId", "string", nullable=True, max_length=64),
                Field("type", "string", nullable=True, max_length=20),
                Field("name", "string", nullable=True, max_length=255),
                Field("role", "string", nullable=True, max_length=100),
            )))),
        Field("storyboard", "object", nullable=True),
    ))),
    Field("advanced", "object", nullable=True, schema=Schema((
        Field("duration", "integer", nullable=True),
        Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
        Field("modelPreferences", "array", nullable=True, items=_STRING_LIST.items),
        Field("videoModel", "string", nullable=True, enum=VIDEO_MODELS),
        Field("autoApprove", "boolean", default=False),
    ))),
    Field("generateAudio", "boolean", default=False),
    # The brief's creative.videoSpecs.format names the ratio too; both given must agree.
    Field("aspectRatio", "string", nullable=True, enum=ASPECTS),
    *CREATIVE_FIELDS,
    *PREVIEW_FIELDS,
), name="StandardJobRequest")

DRY_RUN = Schema((
    Field("numPairs", "integer", nullable=True, minimum=1, maximum=30),
    Field("clipDuration", "number", nullable=True, minimum=1, maximum=30),
    Field("videoModel", "string", nullable=True, enum=VIDEO_MODELS),
    Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
    Field("generateAudio", "boolean", default=False),
    Field("aspectRatio", "string", nullable=True, enum=ASPECTS),
    *CREATIVE_FIELDS,
    Field("creative", "object", nullable=True),
    Field("context", "object", nullable=True),
    Field("adBasics", "object", nullable=True),
    Field("advanced", "object", nullable=True),
    Field("preview", "boolean", default=False,
          description="Also render a draft preview (kept one hour, never a job)"),
    Field("assetIds", "array", nullable=True, max_items=60,
          items=Field("assetId", "string", max_length=64),
          description="Images for the draft preview, two per scene in order"),
), name="DryRunRequest")

ACTION = Schema((
    Field("action", "string", required=True, enum=("approve", "cancel", "regenerate_scene")),
    Field("payload", "object", nullable=True),
), name="JobActionRequest")

SCENE_UPDATE = Schema((
    Field("description", "string", nullable=True, max_length=5000),
    Field("prompt", "string", nullable=True, max_length=5000),
    Field("script", "string", nullable=True, max_length=5000),
    Field("shotType", "string", nullable=True, max_length=100),
    Field("transition", "string", nullable=True, max_length=100),
    Field("duration", "number", nullable=True, minimum=1, maximum=30),
    Field("firstAssetId", "string", nullable=True, max_length=64),
    Field("lastAssetId", "string", nullable=True, max_length=64),
    Field("metadata", "object", nullable=True),
), name="SceneUpdate")

REGENERATE = Schema((
    Field("feedback", "string", nullable=True, max_length=2000, default=""),
    Field("constraints", "object", nullable=True),
), name="SceneRegenerateRequest")

# --- representations ------------------------------------------------------------------------


def progress_view(job: Job, counts: job_views.JobCounts) -> dict[str, Any]:
    """The client-facing progress, derived from the rows (never stored)."""
    return job_progress(status=job.status, stage=job.stage, error=job.error,
                        planned_scenes=len((job.storyboard or {}).get("scenes", [])),
                        clips=counts.clips, music=counts.music,
                        note=job.progress.get("note"))


def _audio_view(job: Job) -> dict[str, Any]:
    if not job.parameters.get("generateAudio") and job.type != "audio":
        return {"status": "not_requested"}
    audio = (job.result or {}).get("audio")
    if audio:
        return audio
    if job.status in ("failed", "cancelled"):
        return {"status": job.status, "requested": True}
    return {"status": "processing" if job.status == "video_processing" else "requested",
            "requested": True}


def scene_view(job: Job, scene: dict[str, Any], sub: SubJob | None) -> dict[str, Any]:
    """A storyboard scene in the old contract's Scene shape, plus what renders it."""
    view = {
        "id": scene.get("id"),
        "jobId": job.id,
        "sceneNumber": scene["sceneNumber"],
        "duration": float(scene["duration"]),
        "description": scene.get("description", ""),
        "script": scene.get("script"),
        "shotType": scene.get("shotType"),
        "transition": scene.get("transition"),
        "assets": scene.get("assets", []),
        "metadata": scene.get("metadata", {}),
        "sceneType": scene.get("sceneType"),
        "prompt": scene.get("prompt"),
        "firstAssetId": scene.get("firstAssetId"),
        "lastAssetId": scene.get("lastAssetId"),
        "model": scene.get("model"),
        "provider": scene.get("provider"),
        "estimatedCost": scene.get("estimatedCost"),
        "adjustments": scene.get("adjustments", []),
        "status": sub.status if sub else "planned",
        "clipUrl": (f"/api/v3/videos/{job.id}/clips/clip_{scene['sceneNumber']:03d}.mp4"
                    if sub and sub.clip_blob_id else None),
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
        "videoUrl": (f"/api/v3/videos/{sub.job_id}/clips/clip_{sub.scene_number:03d}.mp4"
                     if sub.clip_blob_id else None),
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
    scenes = (job.storyboard or {}).get("scenes", [])
    result = job.result or {}
    return {
        "id": str(job.id),
        "type": job.type,
        "status": job.status,
        "progress": progress_view(job, counts),
        "storyboard": job.storyboard,
        "scenes": [scene_view(job, s, by_number.get(s["sceneNumber"])) for s in scenes],
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
        "audio": _audio_view(job),
        "creativeOptions": creative_view(job),
        "provider": job.provider,
        "campaignId": job.campaign_id,
        "clientId": job.client_id,
        "approvedAt": job.approved_at,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "completedAt": job.completed_at,
    }


# --- helpers --------------------------------------------------------------------------------


def parse_job_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("Job not found")
    return int(raw)


def load_job(ctx: AppContext, req: falcon.Request, raw_id: str) -> Job:
    with ctx.db.read() as conn:
        return job_store.get_job(conn, parse_job_id(raw_id), scope=req.context.scope)


def renderer_name(ctx: AppContext) -> str:
    return ctx.runtime.renderer_name if ctx.runtime is not None else "local"


def render_options(ctx: AppContext, body: dict[str, Any]) -> RenderOptions:
    renderer = renderer_name(ctx)
    return RenderOptions(model=body.get("videoModel") or "veo3",
                         clip_duration=body.get("clipDuration"),
                         resolution=body.get("resolution") or "",
                         aspect_ratio=body.get("aspectRatio") or "16:9",
                         provider=renderer)


def frame_resolution(resolution: str | None) -> str:
    """The finished video's resolution: 1080p when asked for, else 720p (the clip sizes
    512p/768p of Hailuo-02 are scaled to the 720p frame)."""
    return "1080p" if resolution == "1080p" else "720p"


def _card(document: dict[str, Any] | None, loc: list[str | int],
          details: list[dict[str, Any]]) -> Card | None:
    if not document:
        return None
    for key in ("text", "subtitle"):
        missing = undrawable(document.get(key) or "")
        if missing:
            shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in missing[:5])
            details.append({"loc": [*loc, key], "type": "unsupported_characters",
                             "msg": f"{key} has characters the card font cannot draw: {shown}"})
    return Card(text=" ".join(document["text"].split()),
                subtitle=" ".join((document.get("subtitle") or "").split()),
                seconds=float(document.get("seconds") or creative.DEFAULT_CARD_SECONDS),
                background=document.get("background") or "still")


def creative_options(body: dict[str, Any], *, aspect_ratio: str | None,
                     resolution: str | None) -> CreativeOptions:
    """The request's creative options, parsed once here (the schema checked each field);
    a 422 for card text the font cannot draw, rather than boxes in the video."""
    details: list[dict[str, Any]] = []
    title = _card(body.get("titleCard"), ["body", "titleCard"], details)
    end = _card(body.get("endCard"), ["body", "endCard"], details)
    if details:
        raise ValidationFailed(details[0]["msg"], details)
    volume = body.get("musicVolume")
    return CreativeOptions(
        aspect_ratio=aspect_ratio if aspect_ratio in creative.ASPECT_RATIOS  # type: ignore[arg-type]
        else "16:9",
        resolution=frame_resolution(resolution),  # type: ignore[arg-type]
        fit=body.get("fit") or "crop",
        transition=Transition(body.get("transition") or "cut",
                              float(body.get("transitionSeconds")
                                    or creative.DEFAULT_TRANSITION_SECONDS)),
        title_card=title, end_card=end,
        music_volume=float(volume) if volume is not None else creative.DEFAULT_MUSIC_VOLUME)


def standard_frame(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(aspect ratio, resolution) of a brief: top-level fields or ``creative.videoSpecs``."""
    specs = ((body.get("creative") or {}).get("videoSpecs") or {})
    aspect, spec_format = body.get("aspectRatio"), specs.get("format")
    if aspect and spec_format and aspect != spec_format:
        raise ValidationFailed.field(["body", "aspectRatio"],
                                     f"aspectRatio {aspect} and creative.videoSpecs.format "
                                     f"{spec_format} differ; send one of them", "conflict")
    resolution = (body.get("resolution") or specs.get("resolution")
                  or (body.get("advanced") or {}).get("resolution"))
    return aspect or spec_format, resolution


def options_view(options: CreativeOptions) -> dict[str, Any]:
    """Creative options as the request names them, with the frame they make."""
    view = options.to_document()
    view.pop("version", None)
    width, height = options.frame_size()
    return {**view, "frameSize": {"width": width, "height": height}}


def creative_view(job: Job) -> dict[str, Any]:
    """The job's creative options (the defaults for a job from before they existed)."""
    return options_view(CreativeOptions.from_document(job.parameters.get(CREATIVE_OPTIONS_KEY)))


def coordinator(ctx: AppContext) -> CoordinatorHandle:
    if ctx.runtime is None or not ctx.runtime.system.running:
        raise ServiceUnavailable("Video processing is not running on this server")
    return ctx.runtime.system.coordinator


def _check_client(ctx: AppContext, req: falcon.Request, client_id: str | None,
                  loc: list[str]) -> None:
    if client_id is None:
        return
    with ctx.db.read() as conn:
        found = client_store.get_client(conn, client_id, scope=req.context.scope)
    if found is None:
        raise ValidationFailed.field(loc, "Client not found", "not_found")


def start_job(ctx: AppContext, req: falcon.Request, *, type_: str, parameters: dict[str, Any],
              campaign_id: str | None, client_id: str | None) -> Job:
    """Write the job row (``pending``), then tell the Coordinator: the row comes first.

    A request the server cannot take (the actor system is down) leaves no row behind.
    """
    handle = coordinator(ctx)
    if not ctx.settings.previews and preview_wish(parameters) is None:
        # The server's default for requests that do not say (ACTORVID_PREVIEWS).
        parameters = {**parameters, "preview": False}
    with ctx.db.write() as conn:
        job = job_store.create_job(conn, user_id=req.context.user.id, type=type_,
                                   parameters=parameters, now=ctx.now(),
                                   campaign_id=campaign_id, client_id=client_id,
                                   provider=renderer_name(ctx))
    try:
        handle.start_job(job.id)
    except ServiceUnavailable:
        with ctx.db.write() as conn:
            job_store.delete_job(conn, job.id)
        raise
    return job


def image_count(ctx: AppContext, campaign_id: str) -> int:
    with ctx.db.read() as conn:
        return job_views.campaign_image_count(conn, campaign_id)


# --- resources ------------------------------------------------------------------------------


class ImagePairJobs:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, IMAGE_PAIRS, max_bytes=self.ctx.settings.max_json_bytes)
        body[CREATIVE_OPTIONS_KEY] = creative_options(
            body, aspect_ratio=body.get("aspectRatio"),
            resolution=body.get("resolution")).to_document()
        campaign = load_campaign(self.ctx, req, body["campaignId"])
        client_id = body.get("clientId") or campaign.client_id
        _check_client(self.ctx, req, client_id, ["body", "clientId"])
        total = image_count(self.ctx, campaign.id)
        if total < 2:
            raise ValidationFailed.field(
                ["body", "campaignId"], f"Need at least 2 image assets, but campaign has {total}",
                "too_few_assets")
        body["numPairs"] = body.get("numPairs") or 7
        job = start_job(self.ctx, req, type_="image_pairs", parameters=body,
                      campaign_id=campaign.id, client_id=client_id)
        ok(resp, {"jobId": str(job.id), "id": str(job.id), "status": job.status,
                  "campaignId": campaign.id, "totalAssets": total,
                  "message": f"Job created. Selecting {body['numPairs']} image pairs from "
                             f"{total} assets of campaign {campaign.name}."},
           status=falcon.HTTP_201)


class PropertyJobs:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, PROPERTY, max_bytes=self.ctx.settings.max_json_bytes)
        body[CREATIVE_OPTIONS_KEY] = creative_options(
            body, aspect_ratio=body.get("aspectRatio"),
            resolution=body.get("resolution")).to_document()
        campaign = load_campaign(self.ctx, req, body["campaignId"])
        ids = [p["id"] for p in body["photos"]]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValidationFailed.field(["body", "photos"],
                                         f"Photo ids must be unique: {', '.join(duplicates)}",
                                         "duplicate")
        bad = [i for i, p in enumerate(body["photos"])
               if not p["url"].lower().startswith(("http://", "https://"))]
        if bad:
            raise ValidationFailed(
                "Photo urls must be http or https",
                [{"loc": ["body", "photos", i, "url"], "msg": "must be an http(s) URL",
                  "type": "url_scheme"} for i in bad])
        job = start_job(self.ctx, req, type_="property_video", parameters=body,
                      campaign_id=campaign.id, client_id=campaign.client_id)
        ok(resp, {"jobId": job.id, "id": str(job.id), "status": job.status,
                  "propertyName": body["propertyInfo"]["name"], "totalScenes": 7,
                  "campaignId": campaign.id,
                  "message": "Job created with 7 scenes to select. The storyboard will be "
                             "ready for approval shortly."},
           status=falcon.HTTP_201)


class JobCollection:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = pagination(req)
        status = query_enum(req, "status", job_store.JOB_STATUSES)
        with self.ctx.db.read() as conn:
            if not_modified(req, resp, stamps.jobs_stamp(conn, scope=req.context.scope)):
                return
            found, total = job_views.list_jobs(
                conn, scope=req.context.scope, limit=limit, offset=offset, status=status,
                campaign_id=query_str(req, "campaign_id"), client_id=query_str(req, "client_id"))
            counts = job_views.jobs_counts(conn, [j.id for j in found])
            views = [job_view(j, counts[j.id], []) for j in found]
        ok_page(resp, views, total=total, limit=limit, offset=offset)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, STANDARD, max_bytes=self.ctx.settings.max_json_bytes)
        aspect, resolution = standard_frame(body)
        body[CREATIVE_OPTIONS_KEY] = creative_options(
            body, aspect_ratio=aspect, resolution=resolution).to_document()
        context = body["context"]
        _check_client(self.ctx, req, context["clientId"], ["body", "context", "clientId"])
        campaign_id = context.get("campaignId")
        if campaign_id:
            load_campaign(self.ctx, req, campaign_id)
        items = body["creative"].get("assets") or []
        for i, item in enumerate(items):
            if item.get("assetId"):
                with self.ctx.db.read() as conn:
                    owned = job_views.owns_asset(conn, item["assetId"],
                                                 scope=req.context.scope)
                if not owned:
                    raise ValidationFailed.field(["body", "creative", "assets", i, "assetId"],
                                                 f"Asset not found: {item['assetId']}",
                                                 "not_found")
        coordinator(self.ctx)  # a server that cannot run the job fetches nothing for it
        asset_ids = self.brief_images(req, items, context)
        scenes = brief.scene_count(body)
        quote = estimate(scenes, render_options(self.ctx, brief.render_wish(body, scenes)))
        job = start_job(self.ctx, req, type_="standard", parameters=body,
                      campaign_id=campaign_id, client_id=context["clientId"])
        ok(resp, {"id": str(job.id), "status": job.status, "assetIds": asset_ids,
                  "scenes": [], "audio": _audio_view(job),
                  "estimatedCost": quote["estimatedCost"],
                  "createdAt": job.created_at, "updatedAt": job.updated_at},
           status=falcon.HTTP_201)

    def brief_images(self, req: falcon.Request, items: list[dict[str, Any]],
                     context: dict[str, Any]) -> list[str]:
        """The images the job will use, in order; URLs are fetched now so the answer can name
        them (as the old backend did), and their ids are written into ``items`` so the job
        uses exactly these.

        The fetches run on the fair fetch pool within the URL-import budget, holding one of
        the URL-import slots (429 past them) only when there is a URL to fetch. A URL that
        cannot be fetched refuses the request (nothing is created); the assets fetched from
        the brief's other URLs stay, and a retry reuses them.
        """
        ingestor: AssetIngestor = self.ctx.services["asset_ingestor"]
        spec = AssetSpec(user_id=req.context.user.id, client_id=context["clientId"],
                         campaign_id=context.get("campaignId"))
        loc = ("body", "creative", "assets")
        if any(item.get("url") and not item.get("assetId") for item in items):
            with url_import(self.ctx, req) as deadline:
                ids = ingestor.brief_asset_ids(items, spec, scope=req.context.scope, loc=loc,
                                               deadline=deadline)
        else:
            ids = [item.get("assetId") for item in items]
        for outcome in ids:
            if isinstance(outcome, BaseException):
                raise outcome
        for item, asset_id in zip(items, ids, strict=True):
            if isinstance(asset_id, str):
                item["assetId"] = asset_id
        with self.ctx.db.read() as conn:
            return [i for i in ids if isinstance(i, str) and job_views.owns_asset(
                conn, i, scope=req.context.scope, asset_type="image")]


class DryRun:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, DRY_RUN, max_bytes=self.ctx.settings.max_json_bytes)
        specs = ((body.get("creative") or {}).get("videoSpecs") or {})
        target = specs.get("duration")
        if body.get("numPairs"):
            scenes = body["numPairs"]
        elif isinstance(target, (int, float)) and not isinstance(target, bool):
            scenes = scene_count_for_duration(float(target))
        else:
            scenes = 7
        aspect, resolution = standard_frame(body)
        frame = creative_options(body, aspect_ratio=aspect, resolution=resolution)
        wish = {**body, "aspectRatio": frame.aspect_ratio, "resolution": resolution,
                "clipDuration": body.get("clipDuration") or (
                    float(target) / scenes if isinstance(target, (int, float)) and target
                    else None)}
        options = render_options(self.ctx, wish)
        quote = estimate(scenes, options)
        # What the same scenes cost with each model at this resolution, to compare.
        by_model = {model: estimate(scenes, render_options(self.ctx, {**wish,
                                                                      "videoModel": model}))
                    for model in VIDEO_MODELS}
        valid_until = isoformat_z(self.ctx.clock() + timedelta(hours=24))
        preview = None
        if body.get("preview"):
            pairs = previews.draft_pairs(self.ctx, req, body.get("assetIds"), scenes)
            preview = previews.start_draft(self.ctx, req, body, pairs_storyboard(pairs, options),
                                           frame)
        ok(resp, {"estimatedCost": quote["estimatedCost"], "currency": "USD",
                  "breakdown": {"video_rendering": quote["estimatedCost"], "selection": 0.0,
                                "soundtrack": 0.0},
                  "scenes": scenes, "clipDuration": quote["clipDuration"],
                  # Cards add their seconds; each join of a crossfade/fadeblack takes its
                  # overlap off (CreativeOptions.video_seconds).
                  "totalDuration": round(frame.video_seconds(
                      [quote["clipDuration"]] * scenes), 3),
                  "model": quote["model"],
                  "resolution": quote["resolution"], "provider": options.provider,
                  "adjustments": quote["adjustments"],
                  "costByModel": {model: q["estimatedCost"] for model, q in by_model.items()},
                  "creativeOptions": options_view(frame),
                  "validUntil": valid_until, "preview": preview})


class JobItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        number = parse_job_id(job_id)
        scope = req.context.scope
        # One borrowed connection: the stamp, then (only when it changed) the answer's rows.
        with self.ctx.db.read() as conn:
            if not_modified(req, resp, stamps.job_stamp(conn, number, scope=scope)):
                return
            job = job_store.get_job(conn, number, scope=scope)
            counts = job_views.job_counts(conn, job.id)
            subs = job_store.list_sub_jobs(conn, job.id)
            preview = previews.read_job_preview(conn, job)
        ok(resp, {**job_view(job, counts, subs), "preview": preview})

    def on_post_approve(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        approve(self.ctx, job)
        ok(resp, {"message": "Storyboard approved, video rendering started",
                  "jobId": str(job.id), "status": "video_processing"})

    def on_post_cancel(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        cancel(self.ctx, job)
        ok(resp, {"message": "Job cancelled successfully", "jobId": str(job.id),
                  "status": "cancelled"})

    def on_post_actions(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        body = read_json(req, ACTION, max_bytes=self.ctx.settings.max_json_bytes)
        job = load_job(self.ctx, req, job_id)
        payload = body.get("payload") or {}
        if body["action"] == "approve":
            approve(self.ctx, job)
            ok(resp, {"message": "Storyboard approved, video rendering started"})
        elif body["action"] == "cancel":
            cancel(self.ctx, job)
            ok(resp, {"message": "Job cancelled successfully"})
        else:
            scene_id = payload.get("sceneId")
            if not isinstance(scene_id, str) or not scene_id:
                raise ValidationFailed.field(
                    ["body", "payload", "sceneId"],
                    "sceneId is required in payload for REGENERATE_SCENE action", "missing")
            scene = regenerate_scene(self.ctx, job, scene_id, str(payload.get("feedback") or ""))
            ok(resp, {"message": "Scene regenerated successfully", "scene": scene})

    def on_get_subjobs(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        with self.ctx.db.read() as conn:
            subs = job_store.list_sub_jobs(conn, job.id)
        summary = {"total": len(subs)}
        for status in ("pending", "processing", "completed", "failed", "cancelled"):
            summary[status] = sum(1 for s in subs if s.status == status)
        ok(resp, {"subJobs": [sub_job_view(s) for s in subs], "summary": summary})


def approve(ctx: AppContext, job: Job) -> None:
    """Ask the Coordinator (the one writer of approvals) to approve the storyboard."""
    try:
        coordinator(ctx).approve(job.id)
    except Conflict:
        current = load_status(ctx, job)
        raise Conflict(f"Job {job.id} cannot be approved: it is {current}, "
                       "not storyboard_ready") from None


def cancel(ctx: AppContext, job: Job) -> None:
    """Ask the Coordinator (the one writer of cancels) to cancel the job and its work."""
    try:
        coordinator(ctx).cancel(job.id)
    except Conflict:
        current = load_status(ctx, job)
        raise Conflict(f"Job {job.id} cannot be cancelled: it is already {current}") from None


def load_status(ctx: AppContext, job: Job) -> str:
    with ctx.db.read() as conn:
        return job_store.get_job(conn, job.id).status


# --- scenes ---------------------------------------------------------------------------------


def _find_scene(job: Job, scene_id: str) -> tuple[list[dict[str, Any]], int]:
    scenes = list((job.storyboard or {}).get("scenes", []))
    for index, scene in enumerate(scenes):
        if scene.get("id") == scene_id:
            return scenes, index
    raise NotFound("Scene not found")


def _save_scenes(ctx: AppContext, job: Job, scenes: list[dict[str, Any]]) -> dict[str, Any]:
    for number, scene in enumerate(scenes, start=1):
        scene["sceneNumber"] = number
    board = summarize(scenes, **{k: v for k, v in (job.storyboard or {}).items()
                                 if k not in ("scenes", "totalDuration", "estimatedCost",
                                              "currency")})
    with ctx.db.write() as conn:
        job_views.replace_storyboard(conn, job.id, storyboard=board,
                                     estimated_cost=board["estimatedCost"], now=ctx.now())
    previews.storyboard_changed(ctx, job.id)
    return board


def _resnap(ctx: AppContext, scene: dict[str, Any], duration: float | None) -> dict[str, Any]:
    """Recompute duration and cost of an edited scene the way the storyboard did."""
    options = RenderOptions(scene.get("model") or "veo3", duration or scene["duration"],
                            scene.get("resolution") or "", scene.get("aspectRatio") or "16:9",
                            scene.get("provider") or "local")
    fresh = pairs_storyboard([SelectedPair(scene.get("firstAssetId") or "",
                                           scene.get("lastAssetId") or "")], options)
    first = fresh["scenes"][0]
    scene.update(duration=first["duration"], estimatedCost=first["estimatedCost"],
                 adjustments=first["adjustments"])
    return scene


def regenerate_scene(ctx: AppContext, job: Job, scene_id: str, feedback: str) -> dict[str, Any]:
    if job.status != "storyboard_ready":
        raise Conflict("Scenes can only be regenerated while the storyboard awaits approval")
    scenes, index = _find_scene(job, scene_id)
    scene = dict(scenes[index])
    template = pair_template(scene["sceneNumber"])
    base = scene.get("basePrompt") or scene.get("prompt") or template.prompt
    scene["basePrompt"] = base
    scene["prompt"] = f"{base} {feedback}".strip() if feedback else template.prompt
    scenes[index] = scene
    _save_scenes(ctx, job, scenes)
    return scene_view(job, scene, None)


class SceneCollection:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        with self.ctx.db.read() as conn:
            subs = {s.scene_number: s for s in job_store.list_sub_jobs(conn, job.id)}
        scenes = (job.storyboard or {}).get("scenes", [])
        ok(resp, {"scenes": [scene_view(job, s, subs.get(s["sceneNumber"])) for s in scenes]})


class SceneItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str, scene_id: str
               ) -> None:
        job = load_job(self.ctx, req, job_id)
        scenes, index = _find_scene(job, scene_id)
        with self.ctx.db.read() as conn:
            subs = {s.scene_number: s for s in job_store.list_sub_jobs(conn, job.id)}
        ok(resp, scene_view(job, scenes[index], subs.get(scenes[index]["sceneNumber"])))

    def on_put(self, req: falcon.Request, resp: falcon.Response, job_id: str, scene_id: str
               ) -> None:
        body = read_json(req, SCENE_UPDATE.as_partial(),
                         max_bytes=self.ctx.settings.max_json_bytes)
        job = load_job(self.ctx, req, job_id)
        if job.status != "storyboard_ready":
            raise Conflict("Scenes can only be changed while the storyboard awaits approval")
        scenes, index = _find_scene(job, scene_id)
        scene = dict(scenes[index])
        for key in ("firstAssetId", "lastAssetId"):
            if body.get(key):
                self._check_image(req, body[key], key)
        for key, value in body.items():
            if value is not None and key != "duration":
                scene[key] = value
        if "firstAssetId" in body and body["firstAssetId"] is None:
            # An explicit null takes the images away: the scene renders from its prompt.
            scene["firstAssetId"] = scene["lastAssetId"] = None
        scene["assets"] = [a for a in (scene.get("firstAssetId"), scene.get("lastAssetId")) if a]
        scenes[index] = _resnap(self.ctx, scene, body.get("duration"))
        _save_scenes(self.ctx, job, scenes)
        ok(resp, scene_view(job, scene, None))

    on_patch = on_put

    def _check_image(self, req: falcon.Request, asset_id: str, key: str) -> None:
        with self.ctx.db.read() as conn:
            found = job_views.owns_asset(conn, asset_id, scope=req.context.scope,
                                         asset_type="image")
        if not found:
            raise ValidationFailed.field(["body", key], "Image asset not found", "not_found")

    def on_delete(self, req: falcon.Request, resp: falcon.Response, job_id: str, scene_id: str
                  ) -> None:
        job = load_job(self.ctx, req, job_id)
        if job.status != "storyboard_ready":
            raise Conflict("Scenes can only be deleted while the storyboard awaits approval")
        scenes, index = _find_scene(job, scene_id)
        if len(scenes) == 1:
            raise Conflict("A storyboard needs at least one scene")
        del scenes[index]
        _save_scenes(self.ctx, job, scenes)
        ok(resp, {"message": "Scene deleted successfully"})

    def on_post_regenerate(self, req: falcon.Request, resp: falcon.Response, job_id: str,
                           scene_id: str) -> None:
        body = read_json(req, REGENERATE, max_bytes=self.ctx.settings.max_json_bytes)
        job = load_job(self.ctx, req, job_id)
        ok(resp, regenerate_scene(self.ctx, job, scene_id, body.get("feedback") or ""))


# --- galleries ------------------------------------------------------------------------------


class AiVideos:
    """The old gallery's list of clips: ``data.videos[*]`` with non-null fields, ``data.total``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = query_int(req, "limit", 20, minimum=1, maximum=100)
        offset = query_int(req, "offset", 0, minimum=0)
        status = query_enum(req, "status", ("all", *job_store.SUB_JOB_STATUSES)) or "completed"
        with self.ctx.db.read() as conn:
            subs, total = job_views.list_clips(conn, scope=req.context.scope, limit=limit,
                                               offset=offset,
                                               status=None if status == "all" else status)
        videos = []
        for sub in subs:
            url = (f"/api/v3/videos/{sub.job_id}/clips/clip_{sub.scene_number:03d}.mp4"
                   if sub.clip_blob_id else "")
            videos.append({
                "id": sub.id, "jobId": sub.job_id, "subJobNumber": sub.scene_number,
                "modelId": sub.model or "unknown", "videoUrl": url, "thumbnailUrl": url,
                "status": sub.status, "durationSeconds": float(sub.duration or 0.0),
                "progress": 1.0 if sub.status == "completed" else 0.0,
                "errorMessage": sub.error or "", "createdAt": sub.created_at,
                "completedAt": sub.completed_at or "",
                "prompt": sub.prompt or f"Job {sub.job_id} - Clip {sub.scene_number}",
                "assetIds": [a for a in (sub.first_asset_id, sub.last_asset_id) if a],
            })
        ok(resp, {"videos": videos, "total": total})


class GeneratedVideos:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = pagination(req, default_limit=25)
        with self.ctx.db.read() as conn:
            found, total = job_views.list_jobs(
                conn, scope=req.context.scope, limit=limit, offset=offset, status="completed",
                campaign_id=query_str(req, "campaign_id"), client_id=query_str(req, "client_id"),
                with_video=True)
        items = [{
            "jobId": j.id, "id": str(j.id), "type": j.type, "status": j.status,
            "campaignId": j.campaign_id, "clientId": j.client_id,
            "videoUrl": f"/api/v3/videos/{j.id}/data",
            "thumbnailUrl": (f"/api/v3/videos/{j.id}/thumbnail" if j.thumbnail_blob_id
                             else None),
            "duration": (j.result or {}).get("duration"),
            "estimatedCost": j.estimated_cost or 0.0, "actualCost": j.actual_cost or 0.0,
            "createdAt": j.created_at, "completedAt": j.completed_at,
        } for j in found]
        ok_page(resp, items, total=total, limit=limit, offset=offset)


def add_job_routes(app: falcon.App, ctx: AppContext, prefix: str = "/api/v3") -> None:
    app.add_route(f"{prefix}/jobs", JobCollection(ctx))
    app.add_route(f"{prefix}/jobs/from-image-pairs", ImagePairJobs(ctx))
    app.add_route(f"{prefix}/jobs/from-property-photos", PropertyJobs(ctx))
    app.add_route(f"{prefix}/jobs/dry-run", DryRun(ctx))
    item = JobItem(ctx)
    app.add_route(f"{prefix}/jobs/{{job_id}}", item)
    app.add_route(f"{prefix}/jobs/{{job_id}}/approve", item, suffix="approve")
    app.add_route(f"{prefix}/jobs/{{job_id}}/cancel", item, suffix="cancel")
    app.add_route(f"{prefix}/jobs/{{job_id}}/actions", item, suffix="actions")
    app.add_route(f"{prefix}/jobs/{{job_id}}/sub-jobs", item, suffix="subjobs")
    app.add_route(f"{prefix}/jobs/{{job_id}}/scenes", SceneCollection(ctx))
    scene = SceneItem(ctx)
    app.add_route(f"{prefix}/jobs/{{job_id}}/scenes/{{scene_id}}", scene)
    app.add_route(f"{prefix}/jobs/{{job_id}}/scenes/{{scene_id}}/regenerate", scene,
                  suffix="regenerate")
    app.add_route(f"{prefix}/ai-videos", AiVideos(ctx))
    app.add_route(f"{prefix}/generated-videos", GeneratedVideos(ctx))
