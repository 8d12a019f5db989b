"""Finding a job for a request and handing it to the Coordinator: the job resources' helpers.

Handlers validate, write the first row and tell the Coordinator; they never render, select or
call a paid provider themselves. Approvals and cancels go through the Coordinator, the one
writer of those transitions.
"""

from __future__ import annotations

import falcon

from actorvid.actors.runtime import CoordinatorHandle
from actorvid.api import previews
from actorvid.api.context import AppContext
from actorvid.domain.parameters import JobParameters
from actorvid.domain.storyboard import Storyboard
from actorvid.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from actorvid.store import clients as client_store
from actorvid.store import job_views
from actorvid.store import jobs as job_store
from actorvid.store.jobs import Job


def parse_job_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("Job not found")
    return int(raw)


def load_job(ctx: AppContext, req: falcon.Request, raw_id: str) -> Job:
    with ctx.db.read() as conn:
        return job_store.get_job(conn, parse_job_id(raw_id), scope=req.context.scope)


def renderer_name(ctx: AppContext) -> str:
    return ctx.runtime.renderer_name if ctx.runtime is not None else "local"


def coordinator(ctx: AppContext) -> CoordinatorHandle:
    if ctx.runtime is None or not ctx.runtime.system.running:
        raise ServiceUnavailable("Video processing is not running on this server")
    return ctx.runtime.system.coordinator


def check_client(ctx: AppContext, req: falcon.Request, client_id: str | None,
                 loc: list[str]) -> None:
    if client_id is None:
        return
    with ctx.db.read() as conn:
        found = client_store.get_client(conn, client_id, scope=req.context.scope)
    if found is None:
        raise ValidationFailed.field(loc, "Client not found", "not_found")


def start_job(ctx: AppContext, req: falcon.Request, *, type_: str, parameters: JobParameters,
              campaign_id: str | None, client_id: str | None) -> Job:
    """Write the job row (``pending``), then tell the Coordinator: the row comes first.

    A request the server cannot take (the actor system is down) leaves no row behind.
    """
    handle = coordinator(ctx)
    if not ctx.settings.previews and parameters.preview is None:
        # The server's default for requests that do not say (ACTORVID_PREVIEWS).
        parameters = parameters.with_preview(False)
    with ctx.db.write() as conn:
        job = job_store.create_job(conn, user_id=req.context.user.id, type=type_,
                                   parameters=parameters.to_document(), now=ctx.now(),
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


def save_storyboard(ctx: AppContext, job: Job, storyboard: Storyboard) -> None:
    """Store an edited storyboard (and its new estimate); its preview follows it."""
    with ctx.db.write() as conn:
        job_views.replace_storyboard(conn, job.id, storyboard=storyboard.to_document(),
                                     estimated_cost=storyboard.estimated_cost, now=ctx.now())
    previews.storyboard_changed(ctx, job.id)
