"""``/api/v3/jobs/{job_id}``: one job, its approval, cancel, actions and clip renders.

Approve and cancel go to the Coordinator, the one writer of those transitions; the answer of
``GET`` is derived from the rows on every read (and answers 304 when they did not change).
"""

from __future__ import annotations

import falcon

from actorvid.api import previews
from actorvid.api.answers import answer_cache, answer_key, send_and_keep, send_kept
from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok
from actorvid.api.job_access import approve, cancel, load_job, parse_job_id
from actorvid.api.job_requests import ACTION
from actorvid.api.job_views import job_view, sub_job_view
from actorvid.api.operations import (
    BODY,
    COMMON,
    INT,
    JOB_ID,
    STR,
    Op,
    described,
    list_of,
    ref,
)
from actorvid.api.scenes import regenerate_scene
from actorvid.api.validation import read_json
from actorvid.errors import ValidationFailed
from actorvid.store import job_views
from actorvid.store import jobs as job_store

_ACTION_OK = {"type": "object", "required": ["message"],
              "properties": {"message": STR, "jobId": STR, "status": STR,
                             "scene": ref("Scene")}}
# Approve and cancel answer 409 from a state that does not allow them, 503 without actors.
_STATE_ERRORS = (*COMMON, 409, 503)


class JobItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.answers = answer_cache(ctx.services, ctx.settings.answer_cache_bytes)

    @described(Op(
        "A job: status, progress, storyboard, scenes, video, costs", ("jobs",), ref("Job"),
        params=(JOB_ID,)))
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        number = parse_job_id(job_id)
        scope = req.context.scope
        # One borrowed connection: the stamp, then (only when it changed) the answer's rows.
        # The stamp covers every row the answer shows (the job, its sub-jobs, its preview),
        # so the answer rendered at this stamp is kept and sent again (api/answers.py).
        with self.ctx.db.read() as conn:
            stamp = self.ctx.stamps.job_stamp(conn, number, scope=scope)
            if not_modified(req, resp, stamp):
                return
            key = answer_key(req, stamp, number)
            if send_kept(resp, self.answers, key):
                return
            job = job_store.get_job(conn, number, scope=scope)
            counts = job_views.job_counts(conn, job.id)
            subs = job_store.list_sub_jobs(conn, job.id)
            preview = previews.read_job_preview(conn, job)
        send_and_keep(resp, self.answers, key,
                      {**job_view(job, counts, subs), "preview": preview})

    @described(Op(
        "Approve the storyboard and start rendering (only from storyboard_ready)",
        ("jobs",), _ACTION_OK, params=(JOB_ID,), errors=_STATE_ERRORS))
    def on_post_approve(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        approve(self.ctx, job)
        ok(resp, {"message": "Storyboard approved, video rendering started",
                  "jobId": str(job.id), "status": "video_processing"})

    @described(Op(
        "Cancel a job and stop its work", ("jobs",), _ACTION_OK, params=(JOB_ID,),
        errors=_STATE_ERRORS))
    def on_post_cancel(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        cancel(self.ctx, job)
        ok(resp, {"message": "Job cancelled successfully", "jobId": str(job.id),
                  "status": "cancelled"})

    @described(Op(
        "approve | cancel | regenerate_scene (payload.sceneId)", ("jobs",), _ACTION_OK,
        params=(JOB_ID,), body=ACTION, errors=(*COMMON, *BODY, 409, 503)))
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

    @described(Op(
        "The job's clip renders with a status summary", ("jobs",),
        {"type": "object", "required": ["subJobs", "summary"],
         "properties": {"subJobs": list_of("SubJob"),
                        "summary": {"type": "object", "additionalProperties": INT}}},
        params=(JOB_ID,)))
    def on_get_subjobs(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        with self.ctx.db.read() as conn:
            subs = job_store.list_sub_jobs(conn, job.id)
        summary = {"total": len(subs)}
        for status in ("pending", "processing", "completed", "failed", "cancelled"):
            summary[status] = sum(1 for s in subs if s.status == status)
        ok(resp, {"subJobs": [sub_job_view(s) for s in subs], "summary": summary})
