"""Previews (issue 19): a job's free local animatic, and dry-run drafts.

- ``GET|HEAD /api/v3/videos/{jobId}/preview``: the job's preview, streamed like the final
  video (Range, HEAD, ETag; also with a ``?token=`` bound to the job's video). Only a preview
  of the *current* storyboard is ever served: otherwise 404 (there is none) or 409 (there is
  one, but it is not ready or shows an older storyboard), each with a sentence saying why.
- ``GET /api/v3/previews/{id}`` and ``GET|HEAD /api/v3/previews/{id}/video``: a draft preview
  made by ``POST /api/v3/jobs/dry-run`` with ``preview: true``; it lives an hour and never
  becomes a job.

Rendering is the PreviewActor's; these resources read rows and tell the runtime, nothing more.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import falcon

from actorvid.api.binary import send_blob
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok
from actorvid.api.operations import (
    BINARY_AUTH,
    COMMON,
    JOB_ID,
    RANGE,
    TOKEN,
    Op,
    described,
    param,
    ref,
)
from actorvid.api.paths import API
from actorvid.clock import isoformat_z
from actorvid.domain.creative import CreativeOptions
from actorvid.domain.drafts import SelectedPair
from actorvid.domain.preview import (
    DRAFT_TTL_SECONDS,
    job_rendered_for,
    keep_after_completion,
    rendered_for,
    wants_preview,
)
from actorvid.domain.storyboard import Storyboard
from actorvid.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from actorvid.store import blobs, job_views
from actorvid.store import jobs as job_store
from actorvid.store import previews as preview_store
from actorvid.store.jobs import Job
from actorvid.store.previews import Preview

PREVIEW_ID = param("preview_id", {"type": "string", "maxLength": 64}, "path")


# --- representations ------------------------------------------------------------------------


def job_preview_view(job: Job, preview: Preview | None) -> dict[str, Any]:
    """``preview: {status, url, renderedFor}`` of a job. ``status`` is the row's (rendering,
    ready, failed, cancelled), ``stale`` when it shows an earlier storyboard (a new one is on
    its way while the job still wants one), or ``none``; ``url`` only for a ready preview of
    the current storyboard."""
    if preview is None:
        # Wanted but not started yet (the PreviewActor hears of the storyboard a moment after
        # it is written): say it is coming rather than that there is none.
        coming = wants_preview(job.params, job.status) and bool(job.storyboard)
        return {"status": "rendering" if coming else "none", "url": None, "renderedFor": None}
    status = preview.status
    if preview.rendered_for != job_rendered_for(job.board, job.params):
        status = "stale"
    return {"status": status,
            "url": f"{API}/videos/{job.id}/preview" if status == "ready" else None,
            "renderedFor": preview.rendered_for,
            "duration": preview.duration if status == "ready" else None,
            "error": preview.error if status == "failed" else None}


def draft_view(preview: Preview) -> dict[str, Any]:
    ready = preview.status == "ready"
    return {"id": preview.id, "status": preview.status,
            "url": f"{API}/previews/{preview.id}/video" if ready else None,
            "renderedFor": preview.rendered_for,
            "duration": preview.duration if ready else None,
            "error": preview.error, "expiresAt": preview.expires_at,
            "createdAt": preview.created_at}


# --- hooks for the job routes ---------------------------------------------------------------


def read_job_preview(conn: Any, job: Job) -> dict[str, Any]:
    """The job view's ``preview``, read on the caller's connection."""
    return job_preview_view(job, preview_store.job_preview(conn, job.id))


def storyboard_changed(ctx: AppContext, job_id: int) -> None:
    """After a storyboard edit: the old preview is stale already (its fingerprint no longer
    matches); tell the PreviewActor to render the new one and cancel the old render."""
    if ctx.runtime is not None:
        ctx.runtime.preview_changed(job_id)


def draft_pairs(ctx: AppContext, req: falcon.Request, asset_ids: list[str] | None,
                scenes: int) -> list[SelectedPair]:
    """A draft's ``scenes`` pairs from ``assetIds`` (the caller's images, two per scene,
    reused in turn); without them each scene shows its words over the brand colour."""
    ids = list(asset_ids or [])
    with ctx.db.read() as conn:
        for i, asset_id in enumerate(ids):
            if not job_views.owns_asset(conn, asset_id, scope=req.context.scope,
                                        asset_type="image"):
                raise ValidationFailed.field(["body", "assetIds", i],
                                             f"Image asset not found: {asset_id}", "not_found")
    return [SelectedPair(ids[(2 * n) % len(ids)], ids[(2 * n + 1) % len(ids)]) if ids
            else SelectedPair("", "") for n in range(scenes)]


def start_draft(ctx: AppContext, req: falcon.Request, body: dict[str, Any],
                board: Storyboard, opts: CreativeOptions) -> dict[str, Any]:
    """A dry-run's draft preview of ``board`` with the request's creative options ``opts``,
    rendered like a job's, kept an hour."""
    if ctx.runtime is None or not ctx.runtime.system.running:
        raise ServiceUnavailable("Previews are not rendered on this server")
    client_id = (body.get("context") or {}).get("clientId")
    now = ctx.clock()
    with ctx.db.write() as conn:
        row = preview_store.insert_draft(
            conn, preview_id=ctx.new_id(), user_id=req.context.user.id,
            rendered_for=rendered_for(board, opts),
            input={"storyboard": board.to_document(), "options": opts.to_document(),
                   "clientId": client_id if isinstance(client_id, str) else None},
            expires_at=isoformat_z(now + timedelta(seconds=DRAFT_TTL_SECONDS)),
            now=isoformat_z(now))
    ctx.runtime.render_draft(row.id)
    return draft_view(row)


# --- resources ------------------------------------------------------------------------------


def _why_missing(job: Job) -> str:
    parameters = job.params
    if job.status == "completed" and not keep_after_completion(parameters):
        return (f"Job {job.id} has no preview: it was removed when the job completed "
                "(send keepPreview: true to keep it)")
    if not wants_preview(parameters, "storyboard_ready") and not wants_preview(
            parameters, "video_processing"):
        return (f"Job {job.id} has no preview: previews are off for it (the request said "
                "preview: false, or autoApprove without preview: true, or this server "
                "makes previews only when asked)")
    if job.status in ("pending", "storyboard_processing"):
        return f"Job {job.id} has no preview yet: its storyboard is still being written"
    return f"Job {job.id} has no preview"


class JobPreviewVideo:
    """``GET|HEAD /api/v3/videos/{job_id}/preview``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def access_token_resource(self, params: dict[str, Any]) -> str:
        # The job's video token plays its preview too (media_routes.video_resource; not
        # imported, as media_routes imports api/job_access.py, which imports this module).
        return f"video:{params.get('job_id', '')}"

    @described(Op(
        "The job's free local preview of its current storyboard (Range, ETag, HEAD)",
        ("videos", "previews"), binary="video/mp4", params=(JOB_ID, TOKEN, RANGE),
        security=BINARY_AUTH, errors=(*COMMON, 409, 416),
        description="404 when the job has no preview (turned off, not yet made, or removed "
                    "when the job completed), 409 while it renders, when it failed, or when "
                    "it shows an earlier storyboard; the error says which."))
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        if not job_id.isdigit() or len(job_id) > 18:
            raise NotFound("Job not found")
        with self.ctx.db.read() as conn:
            job = job_store.get_job(conn, int(job_id), scope=req.context.scope)
            preview = preview_store.job_preview(conn, job.id)
        if preview is None:
            raise NotFound(_why_missing(job))
        if preview.rendered_for != job_rendered_for(job.board, job.params):
            raise Conflict(f"The preview of job {job.id} shows an earlier version of its "
                           "storyboard; a preview of the current one is being rendered")
        _check_ready(preview, f"job {job.id}")
        assert preview.blob_id is not None
        send_blob(req, resp, self.ctx.db, blobs.blob_info(self.ctx.db, preview.blob_id),
                  content_type="video/mp4", filename=f"preview_{job.id}.mp4")

    on_head = on_get


def _check_ready(preview: Preview, what: str) -> None:
    if preview.status == "rendering":
        raise Conflict(f"The preview of {what} is still rendering; try again in a few seconds")
    if preview.status == "failed":
        raise Conflict(f"The preview of {what} could not be rendered: {preview.error}")
    if preview.status == "cancelled" or not preview.blob_id:
        raise Conflict(f"The preview of {what} was cancelled before it was ready")


class DraftPreview:
    """``GET /api/v3/previews/{preview_id}`` and ``GET|HEAD .../video``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _load(self, req: falcon.Request, preview_id: str) -> Preview:
        with self.ctx.db.read() as conn:
            found = preview_store.get_preview(conn, preview_id, scope=req.context.scope)
        if found is None or found.job_id is not None:
            raise NotFound("Preview not found")
        if found.expires_at is not None and found.expires_at <= self.ctx.now():
            raise NotFound("Preview not found: draft previews are kept for one hour")
        return found

    @described(Op("A dry-run's draft preview: status and url", ("previews",),
                  ref("DraftPreview"), params=(PREVIEW_ID,)))
    def on_get(self, req: falcon.Request, resp: falcon.Response, preview_id: str) -> None:
        ok(resp, draft_view(self._load(req, preview_id)))

    @described(Op(
        "A draft preview's video (Range, ETag, HEAD)", ("previews",), binary="video/mp4",
        params=(PREVIEW_ID, RANGE), errors=(*COMMON, 409, 416)))
    def on_get_video(self, req: falcon.Request, resp: falcon.Response, preview_id: str
                     ) -> None:
        preview = self._load(req, preview_id)
        _check_ready(preview, f"draft {preview.id}")
        assert preview.blob_id is not None
        send_blob(req, resp, self.ctx.db, blobs.blob_info(self.ctx.db, preview.blob_id),
                  content_type="video/mp4", filename=f"preview_{preview.id}.mp4")

    on_head_video = on_get_video


def add_preview_routes(app: falcon.App, ctx: AppContext, prefix: str = API) -> None:
    app.add_route(f"{prefix}/videos/{{job_id}}/preview", JobPreviewVideo(ctx))
    draft = DraftPreview(ctx)
    app.add_route(f"{prefix}/previews/{{preview_id}}", draft)
    app.add_route(f"{prefix}/previews/{{preview_id}}/video", draft, suffix="video")
