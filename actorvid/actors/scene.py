"""SceneActor: one provider prediction, create → store id → poll on timers → download → store.

The row in ``sub_jobs`` is the truth; the actor only carries what it can rebuild from it:

- a stored ``provider_id`` means "poll that prediction" — never create a second one;
- a stored ``attempt_tag`` without a ``provider_id`` means a create may have happened before a
  crash: look the tag up at the provider first;
- a clip blob (status completed) means nothing to do.

The order of writes closes every window: the tag is written before ``create``, the prediction id
right after it answers and before the first poll, the clip blob before the row says completed.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pykka

from actorvid.actors.messages import (
    CancelScene,
    PollPrediction,
    Resume,
    SceneFailed,
    SceneFinished,
)
from actorvid.actors.scene_steps import (
    FIND_TRIES,
    LOST_STATUSES,
    as_json,
    failure_sentence,
    new_tag,
    next_step,
    user_error,
)
from actorvid.actors.services import Services
from actorvid.actors.supervision import ParentLink, SupervisedActor
from actorvid.actors.timers import TimerHandle, poll_delays
from actorvid.clock import parse_iso
from actorvid.errors import Conflict, ProviderError
from actorvid.providers.base import MusicInput, Prediction, PredictionService, RenderInput
from actorvid.store import jobs
from actorvid.store.blobs import delete_blob, write_blob_from_file

logger = logging.getLogger(__name__)


class SceneActor(SupervisedActor):
    kind = "scene"

    def __init__(self, services: Services, job_id: int, sub_job_id: str, *,
                 parent: ParentLink, sub_kind: str = "clip") -> None:
        super().__init__(parent=parent, shutdown_timeout=services.options.shutdown_timeout)
        self.services = services
        self.job_id = job_id
        self.sub_job_id = sub_job_id
        self.sub_kind = sub_kind  # "clip" (a video model) or "music" (a soundtrack segment)
        self.step: str = "starting"
        self.provider_id: str | None = None
        self.polls = 0
        self._inputs: RenderInput | MusicInput | None = None
        self._timer: TimerHandle | None = None
        self._delays: Iterator[float] | None = None
        self._cancelled = False
        self._finds = 0

    # --- lifecycle ----------------------------------------------------------------------

    def setup(self) -> None:
        self.actor_ref.tell(Resume())

    def teardown(self) -> None:
        # A stop (shutdown, parent restart) leaves the prediction running and the row as it is:
        # the next incarnation resumes polling it. Only CancelScene cancels at the provider.
        self._cancel_timer()

    def describe_state(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "scene_id": self.sub_job_id, "step": self.step,
                "provider_id": self.provider_id, "polls": self.polls}

    def handle(self, message: Any) -> Any:
        if isinstance(message, Resume):
            self._resume()
        elif isinstance(message, PollPrediction):
            if not self._cancelled and message.provider_id == self.provider_id:
                self._poll()
        elif isinstance(message, CancelScene):
            self._cancel()
        else:
            return super().handle(message)
        return None

    # --- steps --------------------------------------------------------------------------

    def _load(self) -> jobs.SubJob:
        with self.services.db.read() as conn:
            return jobs.get_sub_job(conn, self.sub_job_id)

    def _resume(self) -> None:
        sub = self._load()
        step = next_step(sub)
        logger.info("job %d scene %s (#%d): resume at %s", self.job_id, sub.id,
                    sub.scene_number, step)
        if step == "done":
            self._report_and_stop(sub)
            return
        if self._inputs is None:
            with self.services.db.read() as conn:
                job = jobs.get_job(conn, self.job_id)
            pipeline = self.services.pipeline_for(job.type)
            if pipeline is None:
                raise LookupError(f"no pipeline for job type {job.type}")
            self._inputs = pipeline.render_input(job, sub)
        if step == "poll":
            assert sub.provider_id is not None
            self._start_polling(sub.provider_id, first_delay=0.0)
        elif step == "find":
            self._find(sub)
        else:
            self._create(sub)

    @property
    def provider(self) -> PredictionService:
        return self.services.provider_for(self.sub_kind)

    @property
    def model_name(self) -> str:
        """The metrics' model label: ``veo3``, ``hailuo`` or ``musicgen``."""
        return self._inputs.model if isinstance(self._inputs, RenderInput) else "musicgen"

    def _find(self, sub: jobs.SubJob) -> None:
        """A create may have happened before a crash or a lost answer: look before paying."""
        assert sub.attempt_tag is not None
        self.step = "finding"
        self._finds += 1
        try:
            found = self.provider.find(sub.attempt_tag, inputs=self._inputs,
                                       since=parse_iso(sub.updated_at))
        except ProviderError as exc:
            if not exc.retryable:
                raise
            found = None
            if self._finds < FIND_TRIES:
                self._retry_later(exc.retry_after, f"looking for its prediction failed ({exc})")
                return
        if found is not None and self._claimed_elsewhere(found.id):
            found = None
        if found is not None:
            logger.info("job %d scene %s: found prediction %s by tag %s; no new create",
                        self.job_id, sub.id, found.id, sub.attempt_tag)
            self._store_prediction(sub.attempt_tag, found)
        elif self._finds < FIND_TRIES:
            self._retry_later(None, "its prediction is not listed yet")
        else:
            self._create(sub)

    def _retry_later(self, delay: float | None, why: str) -> None:
        wait = delay if delay is not None else self.services.options.poll_first
        logger.info("job %d scene %s: %s; again in %.1fs", self.job_id, self.sub_job_id, why,
                    wait)
        self.step = "retry_wait"
        self._cancel_timer()
        self._timer = self.services.scheduler.send_after(self.actor_ref, Resume(), wait)

    def _claimed_elsewhere(self, provider_id: str) -> bool:
        """Matching by input could name another scene's prediction: never share one."""
        with self.services.db.read() as conn:
            owner = jobs.find_sub_job_by_provider_id(conn, provider_id)
        return owner is not None and owner.id != self.sub_job_id

    def _create(self, sub: jobs.SubJob) -> None:
        assert self._inputs is not None
        wait = self.services.limiter.reserve()
        if wait > 0:
            # Every job shares the provider's create budget: wait our turn on a timer.
            self.step = "rate_limited"
            self._cancel_timer()
            self._timer = self.services.scheduler.send_after(self.actor_ref, Resume(), wait)
            return
        tag = new_tag(sub, self.services.new_id())
        provider = self.provider
        self._finds = 0
        self.step = "creating"
        try:
            with self.services.db.write() as conn:
                jobs.begin_attempt(conn, sub.id, tag=tag, provider=provider.name,
                                   input=as_json(self._inputs), now=self.services.now())
        except Conflict:
            # Cancelled (or finished) since we looked: nothing to create.
            self._report_and_stop(self._load())
            return
        try:
            prediction = provider.create(self._inputs, tag=tag)
        except ProviderError as exc:
            if exc.retryable:
                # Nothing was created, or the tag finds it: the next Resume looks it up first.
                delay = exc.retry_after or self.services.options.poll_first
                if exc.http_status == 429:
                    self.services.limiter.pause(delay)
                self._retry_later(delay, f"create not done ({exc})")
                self.step = "create_backoff"
                return
            self.services.metrics.prediction_failed(self.model_name)
            self._fail(user_error("The provider refused this scene", exc))
            return
        self.services.metrics.prediction_created(self.model_name)
        self._store_prediction(tag, prediction)

    def _store_prediction(self, tag: str, prediction: Prediction) -> None:
        try:
            with self.services.db.write() as conn:
                jobs.record_prediction(conn, self.sub_job_id, tag=tag,
                                       provider_id=prediction.id, now=self.services.now())
        except Conflict:
            # Cancelled while the create was on the wire: nobody wants this prediction, so
            # stop paying for it now (the cancel that raced us could not know its id).
            logger.info("job %d scene %s: prediction %s arrived after a cancel; cancelling it",
                        self.job_id, self.sub_job_id, prediction.id)
            self.provider_id = prediction.id
            self._cancelled = True
            self._cancel_at_provider()
            self._report_and_stop(self._load())
            return
        logger.info("job %d scene %s: prediction %s stored", self.job_id, self.sub_job_id,
                    prediction.id)
        self._start_polling(prediction.id, first_delay=None)

    def _start_polling(self, provider_id: str, *, first_delay: float | None) -> None:
        opts = self.services.options
        self.provider_id = provider_id
        self._delays = poll_delays(first=opts.poll_first, factor=opts.poll_factor,
                                   maximum=opts.poll_max, minimum=opts.poll_min)
        self._schedule_poll(first_delay)

    def _schedule_poll(self, delay: float | None = None) -> None:
        assert self._delays is not None and self.provider_id is not None
        self._cancel_timer()  # a webhook nudge may poll early: keep a single timer chain
        self.step = "waiting"
        wait = next(self._delays) if delay is None else delay
        self._timer = self.services.scheduler.send_after(
            self.actor_ref, PollPrediction(self.sub_job_id, self.provider_id), wait)

    def _poll(self) -> None:
        assert self.provider_id is not None
        self.step = "polling"
        self.polls += 1
        try:
            prediction = self.provider.get(self.provider_id)
        except ProviderError as exc:
            if exc.http_status in LOST_STATUSES:
                self._recreate_lost(self.provider_id, "the provider no longer has it")
                return
            if not exc.retryable:
                self._fail(user_error("The provider could not report on this scene", exc))
                return
            logger.warning("job %d scene %s: poll of %s failed (%s); retrying", self.job_id,
                           self.sub_job_id, self.provider_id, exc)
            self._schedule_poll(exc.retry_after)
            return
        if not prediction.terminal:
            if self._past_deadline():
                self._cancel_at_provider()
                minutes = self.services.options.poll_deadline / 60
                self._fail(f"The provider did not finish this scene within {minutes:g} minutes")
                return
            self._schedule_poll()
            return
        if prediction.status == "succeeded":
            self._download(prediction)
            return
        error = failure_sentence(prediction)
        self.services.metrics.prediction_failed(self.model_name)
        sub = self._load()
        if sub.failures + 1 < self.services.options.max_attempts:
            self.services.metrics.prediction_retried(self.model_name)
            logger.warning("job %d scene %s: %s; creating it again (%d of %d)", self.job_id,
                           self.sub_job_id, error, sub.failures + 2,
                           self.services.options.max_attempts)
            with self.services.db.write() as conn:
                jobs.retry_sub_job(conn, self.sub_job_id, provider_id=prediction.id,
                                   error=error, now=self.services.now())
            self.provider_id = None
            self._create(self._load())
            return
        self._fail(error)

    def _past_deadline(self) -> bool:
        sub = self._load()
        if not sub.started_at:
            return False
        limit = parse_iso(sub.started_at) + timedelta(seconds=self.services.options.poll_deadline)
        return self.services.clock() > limit

    def _download(self, prediction: Prediction) -> None:
        self.step = "downloading"
        provider, db = self.provider, self.services.db
        try:
            if prediction.data_removed:
                raise ProviderError("output removed", status=410)
            with tempfile.TemporaryFile() as spool:
                provider.download(prediction, spool)  # every scene at once: network
                spool.seek(0)
                with self.services.clip_stores:  # a few at a time: one writer anyway
                    blob = write_blob_from_file(db, spool)
        except ProviderError as exc:
            if exc.http_status in LOST_STATUSES:
                self._recreate_lost(prediction.id, "its output expired before it was stored")
                return
            if exc.retryable:
                self._schedule_poll(exc.retry_after)
                return
            self._fail(user_error("The finished scene could not be downloaded", exc))
            return
        assert self._inputs is not None
        cost = provider.cost(self._inputs, prediction)
        try:
            with db.write() as conn:
                jobs.complete_sub_job(conn, self.sub_job_id, clip_blob_id=blob.id, cost=cost,
                                      now=self.services.now())
        except Conflict:
            delete_blob(db, blob.id)  # cancelled meanwhile: the clip is not wanted
            logger.info("job %d scene %s: finished after it was cancelled", self.job_id,
                        self.sub_job_id)
        self._report_and_stop(self._load())

    def _recreate_lost(self, provider_id: str, why: str) -> None:
        """The provider lost the prediction (or its output): a fact, not a crash. Create it
        again once, recorded in the row; a second loss fails the scene with the reason."""
        self._cancel_timer()
        try:
            with self.services.db.write() as conn:
                jobs.forget_lost_prediction(conn, self.sub_job_id, provider_id=provider_id,
                                            now=self.services.now())
        except Conflict:
            sub = self._load()
            if sub.terminal:
                self._report_and_stop(sub)
                return
            self._fail(f"The provider lost this scene's work twice ({why}); it was not "
                       "tried a third time")
            return
        logger.warning("job %d scene %s: prediction %s lost (%s); creating it again once",
                       self.job_id, self.sub_job_id, provider_id, why)
        self.services.metrics.prediction_retried(self.model_name)
        self.provider_id = None
        self._create(self._load())

    def _fail(self, error: str) -> None:
        logger.warning("job %d scene %s: failed: %s", self.job_id, self.sub_job_id, error)
        with contextlib.suppress(Conflict), self.services.db.write() as conn:
            jobs.fail_sub_job(conn, self.sub_job_id, error=error, now=self.services.now())
        self._report_and_stop(self._load())

    def _cancel(self) -> None:
        if self._cancelled:
            return  # cancelled already (a late create answer, or a second CancelScene)
        self._cancelled = True
        self._cancel_timer()
        self.step = "cancelling"
        with self.services.db.write() as conn:
            jobs.cancel_sub_job(conn, self.sub_job_id, now=self.services.now())
        self._cancel_at_provider()
        logger.info("job %d scene %s: cancelled", self.job_id, self.sub_job_id)
        self.step = "cancelled"
        self.stop()

    def _cancel_at_provider(self) -> None:
        if not self.provider_id:
            return
        try:
            self.provider.cancel(self.provider_id)
        except ProviderError:
            logger.exception("job %d scene %s: cancel of %s failed", self.job_id,
                             self.sub_job_id, self.provider_id)

    def _report_and_stop(self, sub: jobs.SubJob) -> None:
        self.step = sub.status
        assert self.parent is not None
        if sub.status == "completed":
            event: Any = SceneFinished(self.job_id, sub.id, sub.scene_number)
        else:
            event = SceneFailed(self.job_id, sub.id, sub.scene_number, sub.error or sub.status)
        with contextlib.suppress(pykka.ActorDeadError):
            self.parent.ref.tell(event)
        self.stop()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
