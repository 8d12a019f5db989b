"""``/api/v3/jobs``: create video jobs, list them, price them; every job route registered here.

Handlers validate, write the first row and tell the Coordinator; they never render, select or
call a paid provider themselves. What a job *is* comes from the rows: status and stage from
``jobs``, per-scene state from ``sub_jobs``; the progress object is derived from them on read,
so no two writers can make it move backwards.

The request schemas and their parsing are in ``api/job_requests.py``, the views in
``api/job_views.py``, the helpers in ``api/job_access.py``; the scene routes are in
``api/scenes.py``, one job's routes in ``api/job_item.py``, the galleries in
``api/galleries.py``. Quotes come from ``workflows/editing.py``, which decides every price
and storyboard edit the API shows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import falcon

from actorvid.api import previews
from actorvid.api.assets import url_import
from actorvid.api.campaigns import load_campaign
from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page
from actorvid.api.galleries import AiVideos, GeneratedVideos
from actorvid.api.job_access import (
    check_client,
    coordinator,
    image_count,
    renderer_name,
    start_job,
)
from actorvid.api.job_item import JobItem
from actorvid.api.job_requests import (
    DRY_RUN,
    IMAGE_PAIRS,
    PROPERTY,
    STANDARD,
    VIDEO_MODELS,
    creative_options,
    job_parameters,
    standard_frame,
)
from actorvid.api.job_views import audio_view, job_view, options_view
from actorvid.api.operations import (
    ADJUSTMENTS,
    BODY,
    CAMPAIGN_FILTER,
    CLIENT_FILTER,
    INT,
    NUM,
    PAGE,
    STR,
    STR_OR_NULL,
    STRINGS,
    Op,
    described,
    job_errors,
    list_of,
    param,
    ref,
)
from actorvid.api.paths import API
from actorvid.api.scenes import SceneCollection, SceneItem
from actorvid.api.validation import pagination, query_enum, query_str, read_json
from actorvid.clock import isoformat_z
from actorvid.domain.models import scene_count_for_duration
from actorvid.domain.parameters import RenderWish
from actorvid.errors import ValidationFailed
from actorvid.ingest import AssetIngestor, AssetSpec
from actorvid.store import job_views
from actorvid.store import jobs as job_store
from actorvid.store.jobs import JOB_STATUSES
from actorvid.workflows import editing

# --- what the answers look like (OpenAPI) ---------------------------------------------------

_JOB_STATUS = {"type": "string", "enum": list(JOB_STATUSES)}
_JOB_CREATED = {"type": "object", "required": ["id", "status", "createdAt"], "properties": {
    "id": {"type": "string", "pattern": "^[0-9]+$"}, "status": _JOB_STATUS, "assetIds": STRINGS,
    "scenes": {"type": "array"}, "audio": ref("AudioInfo"), "estimatedCost": NUM,
    "createdAt": STR, "updatedAt": STR}}


def _pairs_created(job_id: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["jobId", "id", "status", "campaignId", "message"],
            "properties": {"jobId": job_id, "id": STR, "status": _JOB_STATUS,
                           "campaignId": STR, "totalAssets": INT, "propertyName": STR,
                           "totalScenes": INT, "message": STR}}


_DRY_RUN_OK = {
    "type": "object", "required": ["estimatedCost", "currency", "breakdown", "validUntil"],
    "properties": {"estimatedCost": NUM, "currency": {"const": "USD"},
                   "breakdown": {"type": "object", "additionalProperties": NUM},
                   "scenes": INT, "clipDuration": NUM, "totalDuration": NUM,
                   "model": STR, "resolution": STR_OR_NULL, "provider": STR,
                   "adjustments": ADJUSTMENTS,
                   "costByModel": {"type": "object", "additionalProperties": NUM,
                                   "description": "the same scenes with each video "
                                                  "model at this resolution"},
                   "creativeOptions": ref("CreativeOptions"), "validUntil": STR,
                   "preview": {"oneOf": [ref("DraftPreview"), {"type": "null"}]}}}


# --- resources ------------------------------------------------------------------------------


class ImagePairJobs:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "Create a job from a campaign's images (pairs chosen for you)", ("jobs",),
        _pairs_created({"type": "string", "pattern": "^[0-9]+$"}), status=201,
        body=IMAGE_PAIRS, errors=job_errors()))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, IMAGE_PAIRS, max_bytes=self.ctx.settings.max_json_bytes)
        params = job_parameters("image_pairs", body, creative_options(
            body, aspect_ratio=body.get("aspectRatio"), resolution=body.get("resolution")))
        campaign = load_campaign(self.ctx, req, body["campaignId"])
        client_id = body.get("clientId") or campaign.client_id
        check_client(self.ctx, req, client_id, ["body", "clientId"])
        total = image_count(self.ctx, campaign.id)
        if total < 2:
            raise ValidationFailed.field(
                ["body", "campaignId"], f"Need at least 2 image assets, but campaign has {total}",
                "too_few_assets")
        job = start_job(self.ctx, req, type_="image_pairs", parameters=params,
                      campaign_id=campaign.id, client_id=client_id)
        ok(resp, {"jobId": str(job.id), "id": str(job.id), "status": job.status,
                  "campaignId": campaign.id, "totalAssets": total,
                  "message": f"Job created. Selecting {params.num_pairs} image pairs from "
                             f"{total} assets of campaign {campaign.name}."},
           status=falcon.HTTP_201)


class PropertyJobs:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "Create a property video job from 14+ photos", ("jobs",), _pairs_created(INT),
        status=201, body=PROPERTY, errors=job_errors()))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, PROPERTY, max_bytes=self.ctx.settings.max_json_bytes)
        params = job_parameters("property_video", body, creative_options(
            body, aspect_ratio=body.get("aspectRatio"), resolution=body.get("resolution")))
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
        job = start_job(self.ctx, req, type_="property_video", parameters=params,
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

    @described(Op(
        "List the caller's jobs", ("jobs",), list_of("Job"), page=True,
        params=(param("status", _JOB_STATUS), *CAMPAIGN_FILTER, *CLIENT_FILTER, *PAGE),
        errors=(401, 422)))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = pagination(req)
        status = query_enum(req, "status", job_store.JOB_STATUSES)
        with self.ctx.db.read() as conn:
            if not_modified(req, resp, self.ctx.stamps.jobs_stamp(conn, scope=req.context.scope)):
                return
            found, total = job_views.list_jobs(
                conn, scope=req.context.scope, limit=limit, offset=offset, status=status,
                campaign_id=query_str(req, "campaign_id"), client_id=query_str(req, "client_id"))
            counts = job_views.jobs_counts(conn, [j.id for j in found])
            views = [job_view(j, counts[j.id], []) for j in found]
        ok_page(resp, views, total=total, limit=limit, offset=offset)

    @described(Op(
        "Create a standard (brief-driven) job; work starts at once, poll GET /jobs/{id}",
        ("jobs",), _JOB_CREATED, status=201, body=STANDARD,
        description="creative.assets[].url items are fetched during the request (one budget "
                    "of ACTORVID_INGEST_DEADLINE_SECONDS, a URL-import slot: 429 past them; "
                    "a URL fetched before for this client is reused), so assetIds lists the "
                    "images the job uses; a URL that cannot be fetched refuses the request "
                    "(422, or 502 for the remote server's failure). A brief without images "
                    "is fine: its scenes render from their prompts. estimatedCost is priced "
                    "like POST /jobs/dry-run.",
        errors=job_errors(429, 502)))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, STANDARD, max_bytes=self.ctx.settings.max_json_bytes)
        aspect, resolution = standard_frame(body)
        params = job_parameters("standard", body, creative_options(
            body, aspect_ratio=aspect, resolution=resolution))
        context = body["context"]
        check_client(self.ctx, req, context["clientId"], ["body", "context", "clientId"])
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
        quote = editing.brief_quote(body, renderer_name(self.ctx))
        job = start_job(self.ctx, req, type_="standard", parameters=params,
                      campaign_id=campaign_id, client_id=context["clientId"])
        ok(resp, {"id": str(job.id), "status": job.status, "assetIds": asset_ids,
                  "scenes": [], "audio": audio_view(job),
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

    @described(Op(
        "Estimate a job's cost from the request, without creating it", ("jobs",),
        _DRY_RUN_OK, body=DRY_RUN, errors=(401, *BODY, 503),
        description="With \"preview\": true it also starts a draft preview (its own id, "
                    "polled at /previews/{preview_id}, kept one hour, never a job); "
                    "\"assetIds\" are its images, two per scene. 503 when this server "
                    "renders no previews."))
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
        wish = RenderWish(model=body.get("videoModel") or "veo3",
                          clip_duration=body.get("clipDuration") or (
                              float(target) / scenes
                              if isinstance(target, (int, float)) and target else None),
                          resolution=resolution or "", aspect_ratio=frame.aspect_ratio)
        provider = renderer_name(self.ctx)
        quote = editing.quote(scenes, wish, provider)
        # What the same scenes cost with each model at this resolution, to compare.
        by_model = {model: editing.quote(scenes, replace(wish, model=model), provider)
                    for model in VIDEO_MODELS}
        valid_until = isoformat_z(self.ctx.clock() + timedelta(hours=24))
        preview = None
        if body.get("preview"):
            pairs = previews.draft_pairs(self.ctx, req, body.get("assetIds"), scenes)
            preview = previews.start_draft(
                self.ctx, req, body, editing.draft_storyboard(pairs, wish, provider), frame)
        ok(resp, {"estimatedCost": quote["estimatedCost"], "currency": "USD",
                  "breakdown": {"video_rendering": quote["estimatedCost"], "selection": 0.0,
                                "soundtrack": 0.0},
                  "scenes": scenes, "clipDuration": quote["clipDuration"],
                  # Cards add their seconds; each join of a crossfade/fadeblack takes its
                  # overlap off (CreativeOptions.video_seconds).
                  "totalDuration": round(frame.video_seconds(
                      [quote["clipDuration"]] * scenes), 3),
                  "model": quote["model"],
                  "resolution": quote["resolution"], "provider": provider,
                  "adjustments": quote["adjustments"],
                  "costByModel": {model: q["estimatedCost"] for model, q in by_model.items()},
                  "creativeOptions": options_view(frame),
                  "validUntil": valid_until, "preview": preview})


def add_job_routes(app: falcon.App, ctx: AppContext, prefix: str = API) -> None:
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
