"""JobActor: one job's state machine; the step work is its :class:`JobPipeline`'s.

States (status/stage in the ``jobs`` row, always written before the step runs)::

    pending/selecting → storyboard_processing/storyboard  (prepare on the I/O pool)
      → storyboard_ready/awaiting_approval                 (the actor stops; nothing runs)
      → video_processing/rendering                         (one SceneActor per unfinished clip,
                                                            at most scene_concurrency at once)
      → video_processing/soundtrack                        (one SceneActor per music segment,
                                                            one at a time: k+1 continues k)
      → video_processing/stitching                         (finish on the media pool)
      → completed/done       or failed / cancelled at any point

Who writes what: this actor writes the job's own steps (stages, storyboard, completed, failed);
approve and cancel are the Coordinator's (the API asks it); a scene's row is its SceneActor's.
Progress is never stored: :func:`actorvid.workflows.progress.job_progress` derives it from the
rows on every read.

Every (re)start reads the row and continues from it
(:func:`~actorvid.actors.job_steps.next_step`), so a restart of this actor, of the Coordinator
above it or of the whole process resumes the job without repeating a paid step. A failed step
raises in the handler: the Coordinator restarts the job within its restart intensity, then gives
up and marks the job failed with the reason.

This module is over 400 lines on purpose: it is one state machine, whose handlers share the
actor's state (its live children, the work it handed to the pools, its timers) and each move
the same row; split over modules it would read as several machines. Its pure decisions live in
``actors/job_steps.py``, the step work in the pipelines.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import pykka

from actorvid.actors.job_steps import next_segment, next_step
from actorvid.actors.messages import (
    ApproveJob,
    CancelJob,
    CancelScene,
    PokeScene,
    PollPrediction,
    RefreshPreview,
    Resume,
    SceneFailed,
    SceneFinished,
    WorkDone,
)
from actorvid.actors.pipeline import (
    FinishedVideo,
    JobPipeline,
    NormalisedClip,
    PlannedScene,
    ShotMaker,
    Storyboard,
)
from actorvid.actors.scene import SceneActor
from actorvid.actors.services import Services
from actorvid.actors.supervision import (
    ChildExited,
    ChildRecord,
    ChildSpec,
    ParentLink,
    SupervisedActor,
)
from actorvid.errors import Conflict
from actorvid.store import jobs
from actorvid.store.blobs import delete_blob

logger = logging.getLogger(__name__)

class StepFailed(RuntimeError):
    """A pipeline step failed; raised in the handler so the supervisor sees it."""


def scene_child_id(sub_job_id: str) -> str:
    return f"scene:{sub_job_id}"


class JobActor(SupervisedActor):
    kind = "job"

    def __init__(self, services: Services, job_id: int, *, parent: ParentLink) -> None:
        opts = services.options
        super().__init__(parent=parent, strategy="one_for_one", intensity=opts.scene_intensity,
                         on_exhausted="give_up", shutdown_timeout=opts.shutdown_timeout,
                         scheduler=services.scheduler)
        self.services = services
        self.job_id = job_id
        self.status = "loading"
        self.stage = ""
        self._work_token: int | None = None
        self._finishing = False
        # Clips being normalised on the media pool (token → sub-job id), and those whose
        # normalising failed (the finish step tries them again, once, and reports why).
        self._normalising: dict[int, str] = {}
        self._normalise_failed: set[str] = set()

    # --- lifecycle ----------------------------------------------------------------------

    def setup(self) -> None:
        self.actor_ref.tell(Resume())

    def describe_state(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "stage": self.stage,
                "waiting_for": "pool" if self._work_token is not None else None,
                "normalising": len(self._normalising)}

    def handle(self, message: Any) -> Any:
        if isinstance(message, Resume):
            self._resume()
        elif isinstance(message, CancelJob):
            self._cancel()
        elif isinstance(message, SceneFinished | SceneFailed):
            self._advance()
        elif isinstance(message, WorkDone):
            self._work_done(message)
        elif isinstance(message, PokeScene):
            record = self.supervision.get(scene_child_id(message.sub_job_id))
            if record is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    record.ref.tell(PollPrediction(message.sub_job_id, message.provider_id))
        else:
            return super().handle(message)
        return None

    def child_gave_up(self, record: ChildRecord, reason: str) -> None:
        sub_job_id = record.spec.labels["scene_id"]
        logger.error("job %d scene %s: gave up: %s", self.job_id, sub_job_id, reason)
        with contextlib.suppress(Conflict), self.services.db.write() as conn:
            jobs.fail_sub_job(conn, sub_job_id, now=self.services.now(),
                              error="This scene could not be rendered because of an internal "
                                    "error; it was tried several times")
        self._advance()

    def child_exited(self, record: ChildRecord, event: ChildExited) -> None:
        # A scene ended for good: its slot is free for the next one.
        if not self._finishing and self.status == "video_processing":
            self._advance()

    # --- helpers ------------------------------------------------------------------------

    def _load(self) -> jobs.Job:
        with self.services.db.read() as conn:
            job = jobs.get_job(conn, self.job_id)
        self.status, self.stage = job.status, job.stage
        return job

    def _pipeline(self, job: jobs.Job) -> JobPipeline:
        pipeline = self.services.pipeline_for(job.type)
        if pipeline is None:
            raise StepFailed(f"no pipeline for job type {job.type}")
        return pipeline

    def _stop_self(self, why: str) -> None:
        logger.info("job %d: actor stops (%s)", self.job_id, why)
        self.stop()

    # --- the state machine ----------------------------------------------------------------

    def _resume(self) -> None:
        job = self._load()
        step = next_step(job)
        logger.info("job %d: resume %s/%s -> %s", self.job_id, job.status, job.stage, step)
        if step == "stop":
            if job.status == "cancelled":
                self._cancel_leaves()
            self._stop_self(job.status)
        elif step == "wait":
            self._stop_self("awaiting approval")
        elif step == "begin_prepare":
            with self.services.db.write() as conn:
                jobs.set_job_stage(conn, job.id, expected_status="pending",
                                   status="storyboard_processing", stage="storyboard",
                                   now=self.services.now())
            self._prepare(self._load())
        elif step == "prepare":
            self._prepare(job)
        elif step == "finish":
            self._finish(job)
        elif step == "soundtrack":
            self._segments_changed()
        else:
            self._render(job)

    def _prepare(self, job: jobs.Job) -> None:
        if self._work_token is not None:
            return  # already running (a second Resume or StartJob): never run a step twice
        pipeline = self._pipeline(job)
        self._work_token = self.services.io_pool.submit(self.actor_ref, "prepare",
                                                        pipeline.prepare, job,
                                                        owner=job.user_id)

    def _work_done(self, done: WorkDone) -> None:
        if done.step == "normalise":
            self._normalised(done)
            return
        if done.token != self._work_token:
            return  # a late answer from before a cancel; ignore
        self._work_token = None
        if done.error is not None and done.final:
            with contextlib.suppress(Conflict), self.services.db.write() as conn:
                jobs.fail_job(conn, self.job_id, error=done.error, now=self.services.now())
            self._stop_self("failed")
            return
        if done.error is not None:
            raise StepFailed(f"{done.step} failed: {done.error}")
        if done.step == "prepare":
            self._prepared(done.value)
        elif done.step == "finish":
            self._finished(done.value)

    def _prepared(self, storyboard: Storyboard) -> None:
        job = self._load()
        try:
            with self.services.db.write() as conn:
                jobs.save_storyboard(conn, job.id, storyboard=storyboard.data,
                                     estimated_cost=storyboard.estimated_cost,
                                     now=self.services.now())
        except Conflict:
            self._resume()  # cancelled meanwhile (or another writer): re-read and follow
            return
        self._preview_changed()
        if storyboard.auto_approve:
            # Approval is the Coordinator's to write, whoever asks; it resumes us after.
            assert self.parent is not None
            self.status, self.stage = "storyboard_ready", "awaiting_approval"
            self.parent.ref.tell(ApproveJob(self.job_id))
            return
        self._resume()

    def _render(self, job: jobs.Job) -> None:
        with self.services.db.read() as conn:
            subs = jobs.list_sub_jobs(conn, job.id)
        if not subs:
            self._insert(job, "clip", self._pipeline(job).scenes(job))
        self._scenes_changed()

    def _insert(self, job: jobs.Job, kind: str, planned: Sequence[PlannedScene]) -> None:
        provider = self.services.provider_for(kind).name
        with self.services.db.write() as conn:
            jobs.insert_sub_jobs(conn, job.id, [
                jobs.NewSubJob(self.services.new_id(), s, provider, kind=kind) for s in planned],
                now=self.services.now())

    def _advance(self) -> None:
        """A scene or segment moved: carry on with whichever phase the job is in."""
        if self.stage == "soundtrack":
            self._segments_changed()
        else:
            self._scenes_changed()

    def _live_children(self) -> int:
        return sum(1 for cid in (*self.supervision.children, *self.supervision.pending)
                   if cid.startswith("scene:"))

    def _scenes_changed(self) -> None:
        job = self._load()
        if job.terminal:
            self._resume()
            return
        if job.status != "video_processing" or job.stage != "rendering":
            return
        with self.services.db.read() as conn:
            subs = jobs.list_sub_jobs(conn, job.id)
        self._normalise_arrived(job, subs)
        unfinished = [s for s in subs if not s.terminal]
        if not unfinished:
            self._rendered(job, subs)
            return
        live = self._live_children()
        for sub in unfinished:
            if live >= self.services.options.scene_concurrency:
                break
            if self.supervision.known(scene_child_id(sub.id)):
                continue
            self.start_child(self._scene_spec(sub))
            live += 1

    def _scene_spec(self, sub: jobs.SubJob) -> ChildSpec:
        services, job_id, sub_id, kind = self.services, self.job_id, sub.id, sub.kind
        return ChildSpec(
            scene_child_id(sub_id),
            lambda link: SceneActor.start(services, job_id, sub_id, parent=link,
                                          sub_kind=kind),
            restart="transient",
            labels={"job_id": job_id, "scene_id": sub_id, "scene_number": sub.scene_number,
                    "sub_kind": kind},
        )

    def _rendered(self, job: jobs.Job, subs: Sequence[jobs.SubJob]) -> None:
        failed = [s for s in subs if s.status != "completed"]
        if subs and len(failed) == len(subs):
            # Some clips are enough for a (partial) video; none is a failure with the reasons.
            reasons = "; ".join(f"scene {s.scene_number}: {s.error or s.status}"
                                for s in failed[:5])
            error = f"All {len(subs)} scenes failed to render. {reasons}"
            with contextlib.suppress(Conflict), self.services.db.write() as conn:
                jobs.fail_job(conn, job.id, error=error, now=self.services.now())
            self._stop_self("failed")
            return
        clips = [s for s in subs if s.status == "completed"]
        segments = self._pipeline(job).soundtrack(job, clips)
        with self.services.db.write() as conn:
            jobs.set_job_stage(conn, job.id, expected_status="video_processing",
                               status="video_processing",
                               stage="soundtrack" if segments else "stitching",
                               expected_stage="rendering", now=self.services.now())
        if segments:
            self._insert(job, "music", segments)
            self._load()
            self._segments_changed()
        else:
            self._finish(self._load())

    def _segments_changed(self) -> None:
        """The soundtrack chain: one segment at a time, each continuing the one before."""
        job = self._load()
        if job.terminal:
            self._resume()
            return
        if job.status != "video_processing" or job.stage != "soundtrack":
            return
        with self.services.db.read() as conn:
            segments = jobs.list_sub_jobs(conn, job.id, kind="music")
            clips = jobs.list_sub_jobs(conn, job.id)
        self._normalise_arrived(job, clips)  # after a restart: while the music is made
        step = next_segment(segments)
        if isinstance(step, jobs.SubJob):
            if not self.supervision.known(scene_child_id(step.id)):
                self.start_child(self._scene_spec(step))
            return
        if step == "broken":
            # The chain stops at its first failure; later segments are never made.
            with self.services.db.write() as conn:
                jobs.skip_sub_jobs(conn, job.id, kind="music", now=self.services.now(),
                                   error="Not made: an earlier music segment failed")
        with self.services.db.write() as conn:
            jobs.set_job_stage(conn, job.id, expected_status="video_processing",
                               status="video_processing", stage="stitching",
                               expected_stage="soundtrack", now=self.services.now())
        self._finish(self._load())

    def _finish(self, job: jobs.Job) -> None:
        self._finishing = True
        if self._work_token is not None:
            return
        with self.services.db.read() as conn:
            clips = [s for s in jobs.list_sub_jobs(conn, job.id) if s.status == "completed"]
        self._normalise_arrived(job, clips)
        if self._normalising:
            return  # the last shots are being made: finish when they are stored
        pipeline = self._pipeline(job)
        self._work_token = self.services.media_pool.submit(self.actor_ref, "finish",
                                                           pipeline.finish, job, clips,
                                                           owner=job.user_id)

    # --- shots: each clip normalised as it arrives ----------------------------------------

    def _normalise_arrived(self, job: jobs.Job, subs: Sequence[jobs.SubJob]) -> None:
        """Start normalising every stored clip without a shot (new ones, and after a restart
        those stored before it), on the media pool, overlapping the scenes still rendering."""
        pipeline = self._pipeline(job)
        if not isinstance(pipeline, ShotMaker):
            return
        busy = set(self._normalising.values()) | self._normalise_failed
        for sub in subs:
            if sub.status != "completed" or not sub.clip_blob_id or sub.shot_blob_id \
                    or sub.id in busy:
                continue
            token = self.services.media_pool.submit(self.actor_ref, "normalise",
                                                    pipeline.normalise, job, sub,
                                                    owner=job.user_id)
            self._normalising[token] = sub.id

    def _normalised(self, done: WorkDone) -> None:
        sub_id = self._normalising.pop(done.token, None)
        if sub_id is None:
            return  # from before a cancel or restart of this actor
        if done.error is not None:
            # Not fatal here: the finish step normalises it again and fails with the reason.
            logger.warning("job %d scene %s: normalising failed: %s", self.job_id, sub_id,
                           done.error)
            self._normalise_failed.add(sub_id)
        else:
            made: NormalisedClip = done.value
            try:
                with self.services.db.write() as conn:
                    jobs.record_shot(conn, made.sub_job_id, clip_blob_id=made.clip_blob_id,
                                     shot_blob_id=made.shot_blob_id, now=self.services.now())
            except Conflict:
                delete_blob(self.services.db, made.shot_blob_id)  # made twice, or not wanted
        if self._finishing and not self._normalising and self.status == "video_processing":
            self._finish(self._load())

    def _finished(self, video: FinishedVideo) -> None:
        job = self._load()
        with self.services.db.read() as conn:
            subs = [*jobs.list_sub_jobs(conn, job.id), *jobs.list_sub_jobs(conn, job.id,
                                                                          kind="music")]
        cost = sum(s.cost or 0.0 for s in subs)
        cost = round(cost + video.extra_cost, 6)
        try:
            with self.services.db.write() as conn:
                jobs.complete_job(conn, job.id, expected_stage=job.stage,
                                  video_blob_id=video.video_blob_id,
                                  thumbnail_blob_id=video.thumbnail_blob_id,
                                  audio_blob_id=video.audio_blob_id, result=video.result,
                                  actual_cost=cost, now=self.services.now())
        except Conflict:
            # Cancelled (or failed) while finishing: the new blobs belong to nobody.
            for blob_id in (video.video_blob_id, video.thumbnail_blob_id, video.audio_blob_id):
                delete_blob(self.services.db, blob_id)
            logger.info("job %d: finished after it was %s", self.job_id, job.status)
        self._preview_changed()
        self._resume()

    def _preview_changed(self) -> None:
        """The storyboard is written, or the job has ended: its preview follows (through the
        Coordinator and the root to the PreviewActor)."""
        if self.parent is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                self.parent.ref.tell(RefreshPreview(self.job_id))

    # --- cancel ---------------------------------------------------------------------------

    def _cancel(self) -> None:
        # The Coordinator wrote the cancel; stop every prediction and ourselves.
        job = self._load()
        if job.status == "cancelled":
            self._work_token = None
            self._cancel_leaves()
            self._stop_self("cancelled")

    def _cancel_leaves(self) -> None:
        """Tell every live scene to cancel its prediction; our stop then waits for them."""
        for child_id, record in list(self.supervision.children.items()):
            labels = record.spec.labels
            try:
                record.ref.tell(CancelScene(self.job_id, labels["scene_id"]))
            except pykka.ActorDeadError:
                logger.debug("job %d: %s already gone", self.job_id, child_id)
