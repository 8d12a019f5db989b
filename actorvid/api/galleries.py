"""``/api/v3/ai-videos`` and ``/api/v3/generated-videos``: the old frontend's galleries.

``ai-videos`` lists clips (sub-jobs), every field non-null as the old gallery expects;
``generated-videos`` lists finished videos, paged.
"""

from __future__ import annotations

import falcon

from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page
from actorvid.api.job_views import clip_url
from actorvid.api.operations import (
    CAMPAIGN_FILTER,
    CLIENT_FILTER,
    INT,
    OFFSET,
    Op,
    described,
    list_of,
    param,
)
from actorvid.api.validation import pagination, query_enum, query_int, query_str
from actorvid.store import job_views
from actorvid.store import jobs as job_store


class AiVideos:
    """The old gallery's list of clips: ``data.videos[*]`` with non-null fields, ``data.total``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "The gallery's clips (every field non-null)", ("jobs", "videos"),
        {"type": "object", "required": ["videos", "total"],
         "properties": {"videos": list_of("AiVideo"), "total": INT}},
        params=(param("limit", {"type": "integer", "minimum": 1, "maximum": 100,
                                "default": 20}), OFFSET,
                param("status", {"type": "string", "enum": ["all", *job_store.SUB_JOB_STATUSES],
                                 "default": "completed"})),
        errors=(401, 422)))
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
            url = clip_url(sub.job_id, sub.scene_number) if sub.clip_blob_id else ""
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
    """Finished videos (with their video), paged."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "Finished videos", ("jobs", "videos"), list_of("GeneratedVideo"), page=True,
        params=(*CAMPAIGN_FILTER, *CLIENT_FILTER,
                param("limit", {"type": "integer", "minimum": 1, "maximum": 1000,
                                "default": 25}), OFFSET),
        errors=(401, 422)))
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

