"""``/api/v3/jobs/{job_id}/scenes``: read a job's storyboard scenes, edit them before approval.

The resources load the job and check the request (an image must be the caller's); what an
edit does to the storyboard, and its new price, is decided by ``workflows/editing.py``.
"""

from __future__ import annotations

from typing import Any

import falcon

from actorvid.api.context import AppContext
from actorvid.api.envelope import ok
from actorvid.api.job_access import load_job, save_storyboard
from actorvid.api.job_requests import REGENERATE, SCENE_UPDATE
from actorvid.api.job_views import scene_view
from actorvid.api.operations import BODY, COMMON, JOB_ID, Op, described, list_of, message, ref
from actorvid.api.validation import read_json
from actorvid.domain.storyboard import snake
from actorvid.errors import ServiceUnavailable, ValidationFailed
from actorvid.store import job_views
from actorvid.store import jobs as job_store
from actorvid.store.jobs import Job, SubJob
from actorvid.workflows import editing


def regenerate_scene(ctx: AppContext, job: Job, scene_id: str, feedback: str) -> dict[str, Any]:
    """Have the storyboard writer rewrite a scene with ``feedback`` (storyboard_ready only):
    the LLM when the server has a key, else the template writer. The scene's view."""
    editing.require_editable(job.status, "regenerated")
    board = job.board
    draft = editing.scene_draft(board, scene_id)
    if ctx.runtime is None:
        raise ServiceUnavailable("Scenes are rewritten by the storyboard writer, which does "
                                 "not run on this server")
    rewrite = ctx.runtime.rewrite_scene(job.params.writer_brief(), draft, feedback)
    board, scene = editing.rewritten(board, scene_id, rewrite)
    save_storyboard(ctx, job, board)
    return scene_view(job, scene, None)


def _sub_jobs(ctx: AppContext, job: Job) -> dict[int, SubJob]:
    with ctx.db.read() as conn:
        return {s.scene_number: s for s in job_store.list_sub_jobs(conn, job.id)}


class SceneCollection:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "The storyboard's scenes", ("scenes",),
        {"type": "object", "required": ["scenes"], "properties": {"scenes": list_of("Scene")}},
        params=(JOB_ID,)))
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = load_job(self.ctx, req, job_id)
        subs = _sub_jobs(self.ctx, job)
        scenes = editing.scenes_of(job.board)
        ok(resp, {"scenes": [scene_view(job, s, subs.get(s.scene_number)) for s in scenes]})


class SceneItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op("One scene", ("scenes",), ref("Scene"), params=(JOB_ID,)))
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str, scene_id: str
               ) -> None:
        job = load_job(self.ctx, req, job_id)
        scenes, index = editing.find_scene(job.board, scene_id)
        subs = _sub_jobs(self.ctx, job)
        ok(resp, scene_view(job, scenes[index], subs.get(scenes[index].scene_number)))

    @described(Op(
        "Edit a scene while the storyboard awaits approval", ("scenes",), ref("Scene"),
        description="Absent or null fields are kept, except \"firstAssetId\": null, which "
                    "takes the scene's images away: it then renders from its prompt alone.",
        params=(JOB_ID,), body=SCENE_UPDATE.as_partial(),
        errors=(*COMMON, *BODY, 409)), method="PUT")
    @described(Op(
        "Edit a scene (same as PUT)", ("scenes",), ref("Scene"), params=(JOB_ID,),
        body=SCENE_UPDATE.as_partial(), errors=(*COMMON, *BODY, 409)), method="PATCH")
    def on_put(self, req: falcon.Request, resp: falcon.Response, job_id: str, scene_id: str
               ) -> None:
        body = read_json(req, SCENE_UPDATE.as_partial(),
                         max_bytes=self.ctx.settings.max_json_bytes)
        job = load_job(self.ctx, req, job_id)
        editing.require_editable(job.status, "changed")
        board = job.board
        editing.find_scene(board, scene_id)  # 404 before the images are looked up
        for key in ("firstAssetId", "lastAssetId"):
            if body.get(key):
                self._check_image(req, body[key], key)
        changes = {snake(key): value for key, value in body.items()}
        board, scene = editing.edit_scene(board, scene_id, changes)
        save_storyboard(self.ctx, job, board)
        ok(resp, scene_view(job, scene, None))

    on_patch = on_put

    def _check_image(self, req: falcon.Request, asset_id: str, key: str) -> None:
        with self.ctx.db.read() as conn:
            found = job_views.owns_asset(conn, asset_id, scope=req.context.scope,
                                         asset_type="image")
        if not found:
            raise ValidationFailed.field(["body", key], "Image asset not found", "not_found")

    @described(Op(
        "Remove a scene from the storyboard", ("scenes",), message(), params=(JOB_ID,),
        errors=(*COMMON, 409)))
    def on_delete(self, req: falcon.Request, resp: falcon.Response, job_id: str, scene_id: str
                  ) -> None:
        job = load_job(self.ctx, req, job_id)
        editing.require_editable(job.status, "deleted")
        save_storyboard(self.ctx, job, editing.delete_scene(job.board, scene_id))
        ok(resp, {"message": "Scene deleted successfully"})

    @described(Op(
        "Rewrite a scene's prompt with feedback", ("scenes",), ref("Scene"),
        description="The storyboard writer rewrites the scene (an LLM when the server has a "
                    "key, templates otherwise); its images and duration stay.",
        params=(JOB_ID,), body=REGENERATE, errors=(*COMMON, *BODY, 409)))
    def on_post_regenerate(self, req: falcon.Request, resp: falcon.Response, job_id: str,
                           scene_id: str) -> None:
        body = read_json(req, REGENERATE, max_bytes=self.ctx.settings.max_json_bytes)
        job = load_job(self.ctx, req, job_id)
        ok(resp, regenerate_scene(self.ctx, job, scene_id, body.get("feedback") or ""))
