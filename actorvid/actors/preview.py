"""The PreviewActor (issue 19): one per tree, under the root, beside the Coordinator.

It owns every preview render of the process: at most one per job (a newer storyboard cancels
the render of an older one — its ffmpeg child is killed and its output discarded), and the
dry-run drafts. Renders run on the tree's preview pool, whose ffmpeg children queue for the
media slots at a lower priority than finish steps, so a preview never delays paid work.

What it does is decided from the rows each time (``RefreshPreview`` is idempotent): the job's
status and request options say whether it wants a preview, and the storyboard's fingerprint
(:func:`actorvid.domain.preview.job_rendered_for`) says which one. So a restart — of the
actor or of the process — simply looks again: renders that were in flight are started again
from their rows, and a storyboard that changed while nobody listened gets its preview.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from actorvid.actors.messages import PurgePreviews, RefreshPreview, RenderDraft, WorkDone
from actorvid.actors.services import Services
from actorvid.actors.supervision import ParentLink, SupervisedActor
from actorvid.actors.timers import TimerHandle
from actorvid.domain.preview import job_rendered_for, keep_after_completion, wants_preview
from actorvid.errors import NotFound
from actorvid.media.preview import CancelToken
from actorvid.store import jobs
from actorvid.store import previews as preview_store
from actorvid.store.blobs import delete_blob
from actorvid.store.jobs import Job
from actorvid.store.previews import Preview

logger = logging.getLogger(__name__)

PREVIEWS_ID = "previews"
PURGE_EVERY = 600.0  # seconds between sweeps of expired dry-run previews


@dataclass(frozen=True)
class RenderedPreview:
    blob_id: str
    duration: float


class PreviewRenderer(Protocol):
    """What renders previews (``actorvid.pipelines.preview.PreviewMaker``). Both return None
    when ``token`` was cancelled, and run on a pool thread."""

    def render_job(self, job: Job, token: CancelToken) -> RenderedPreview | None: ...

    def render_draft(self, preview: Preview, token: CancelToken) -> RenderedPreview | None: ...


@dataclass
class _Render:
    preview_id: str
    rendered_for: str
    token: CancelToken
    work: int = 0


class PreviewActor(SupervisedActor):
    kind = "previews"

    def __init__(self, services: Services, renderer: PreviewRenderer, *,
                 parent: ParentLink) -> None:
        super().__init__(parent=parent, shutdown_timeout=services.options.shutdown_timeout,
                         scheduler=services.scheduler)
        self.services = services
        self.renderer = renderer
        self._renders: dict[str, _Render] = {}  # "job:<id>" or "draft:<preview id>"
        self._purge: TimerHandle | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def setup(self) -> None:
        self._purge_expired()
        with self.services.db.read() as conn:
            waiting = [j.id for j in jobs.list_active_jobs(conn)]
            drafts = [p.id for p in preview_store.rendering(conn) if p.job_id is None]
        for job_id in waiting:
            self._refresh(job_id)
        for preview_id in drafts:
            self._draft(preview_id)

    def teardown(self) -> None:
        # Rows stay "rendering": the next start renders them again.
        for render in self._renders.values():
            render.token.cancel()
        self._renders.clear()
        if self._purge is not None:
            self._purge.cancel()

    def describe_state(self) -> dict[str, Any]:
        return {"rendering": sorted(self._renders)}

    def handle(self, message: Any) -> Any:
        if isinstance(message, RefreshPreview):
            self._refresh(message.job_id)
        elif isinstance(message, RenderDraft):
            self._draft(message.preview_id)
        elif isinstance(message, WorkDone):
            self._done(message)
        elif isinstance(message, PurgePreviews):
            self._purge_expired()
        else:
            return super().handle(message)
        return None

    # --- jobs ---------------------------------------------------------------------------

    def _refresh(self, job_id: int) -> None:
        key = f"job:{job_id}"
        try:
            with self.services.db.read() as conn:
                job = jobs.get_job(conn, job_id)
                current = preview_store.job_preview(conn, job_id)
        except NotFound:  # deleted: its row went with it
            self._cancel(key)
            return
        if job.terminal:
            self._cancel(key)
            self._job_ended(job, current)
            return
        running = self._renders.get(key)
        if not wants_preview(job.params, job.status):
            # Approved: the storyboard can no longer change, so a render under way finishes;
            # one that a restart interrupted is started again below, anything else stays.
            interrupted = (current is not None and current.status == "rendering"
                           and running is None and job.status == "video_processing")
            if not interrupted:
                return
        version = job_rendered_for(job.board, job.params)
        if current is not None and current.rendered_for == version:
            if current.status in ("ready", "failed"):
                return
            if running is not None and running.rendered_for == version:
                return  # already rendering this version
        self._cancel(key)
        with self.services.db.write() as conn:
            row = preview_store.start_job_preview(
                conn, job_id, preview_id=self.services.new_id(), user_id=job.user_id,
                rendered_for=version, now=self.services.now())
        logger.info("job %d: preview %s rendering for storyboard %s", job_id, row.id, version)
        self._submit(key, row, self.renderer.render_job, job, owner=job.user_id)

    def _job_ended(self, job: Job, current: Preview | None) -> None:
        if current is None:
            return
        with self.services.db.write() as conn:
            if job.status == "completed" and keep_after_completion(job.params):
                preview_store.finish_preview(
                    conn, current.id, rendered_for=current.rendered_for, status="cancelled",
                    now=self.services.now(), error="The job ended before the preview was made")
            else:
                preview_store.delete_job_preview(conn, job.id)
                logger.info("job %d: preview removed (job %s)", job.id, job.status)

    # --- drafts -------------------------------------------------------------------------

    def _draft(self, preview_id: str) -> None:
        key = f"draft:{preview_id}"
        if key in self._renders:
            return
        with self.services.db.read() as conn:
            row = preview_store.get_preview(conn, preview_id)
        if row is None or row.status != "rendering":
            return
        self._submit(key, row, self.renderer.render_draft, row, owner=row.user_id)

    def _purge_expired(self) -> None:
        with self.services.db.write() as conn:
            removed = preview_store.delete_expired(conn, self.services.now())
        if removed:
            logger.info("removed %d expired dry-run preview(s)", removed)
        if self.scheduler is not None:
            self._purge = self.scheduler.send_after(self.actor_ref, PurgePreviews(),
                                                    PURGE_EVERY)

    # --- renders ------------------------------------------------------------------------

    def _submit(self, key: str, row: Preview, fn: Any, subject: Any, *, owner: int) -> None:
        render = _Render(row.id, row.rendered_for, CancelToken())
        self._renders[key] = render
        pool = self.services.preview_pool
        assert pool is not None, "previews need the preview pool"
        render.work = pool.submit(
            self.actor_ref, key, fn, subject, render.token, owner=owner)

    def _cancel(self, key: str) -> None:
        render = self._renders.pop(key, None)
        if render is not None:
            logger.info("%s: preview %s cancelled", key, render.preview_id)
            render.token.cancel()

    def _done(self, done: WorkDone) -> None:
        render = self._renders.get(done.step)
        if render is not None and render.work == done.token:
            del self._renders[done.step]
        elif isinstance(done.value, RenderedPreview):
            # A cancelled render that finished anyway: its picture shows nobody's storyboard.
            delete_blob(self.services.db, done.value.blob_id)
            return
        else:
            return
        made: RenderedPreview | None = done.value
        if done.error is None and made is None:
            return  # cancelled; whoever cancelled it decided what the row shows
        with self.services.db.write() as conn:
            kept = preview_store.finish_preview(
                conn, render.preview_id, rendered_for=render.rendered_for,
                status="ready" if made else "failed", now=self.services.now(),
                blob_id=made.blob_id if made else None,
                duration=made.duration if made else None,
                error=None if made else f"The preview could not be rendered: {done.error}")
        if not kept and made is not None:
            delete_blob(self.services.db, made.blob_id)
        logger.info("%s: preview %s %s", done.step, render.preview_id,
                    ("ready" if made else "failed") if kept else "discarded")

