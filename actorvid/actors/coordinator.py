"""The top of the tree: RootSupervisor → Coordinator → JobActor per live job.

The Coordinator owns the set of live jobs (its children) and boots recovery: at every start —
the first one and every restart by the root — it reads the non-terminal jobs and starts a
JobActor for each that has work to do. Jobs waiting for approval get no actor until approved.

It is also the one writer of the two transitions that come from outside a job: approve (from
the API, or from a JobActor whose request said ``autoApprove``) and cancel. The API asks it and
answers with what it says, so a refused approval is a 409 from the same place every time.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pykka

from actorvid.actors.job import JobActor
from actorvid.actors.messages import (
    ApproveJob,
    CancelJob,
    PokeScene,
    RefreshPreview,
    RenderDraft,
    Resume,
    StartJob,
)
from actorvid.actors.preview import PREVIEWS_ID, PreviewActor
from actorvid.actors.services import Services
from actorvid.actors.supervision import SupervisedActor
from actorvid.actors.supervision_policy import ChildExited, ChildRecord, ChildSpec, ParentLink
from actorvid.errors import Conflict
from actorvid.store import jobs

logger = logging.getLogger(__name__)

COORDINATOR_ID = "coordinator"


def job_child_id(job_id: int) -> str:
    return f"job:{job_id}"


class Coordinator(SupervisedActor):
    kind = "coordinator"

    def __init__(self, services: Services, *, parent: ParentLink) -> None:
        opts = services.options
        super().__init__(parent=parent, strategy="one_for_one", intensity=opts.job_intensity,
                         on_exhausted="give_up", shutdown_timeout=opts.shutdown_timeout,
                         scheduler=services.scheduler)
        self.services = services
        self.recovered = 0
        # Jobs asked for while their actor was exiting: started again once the exit is in.
        self._resume_after_exit: set[int] = set()

    def setup(self) -> None:
        with self.services.db.read() as conn:
            active = jobs.list_active_jobs(conn)
        for job in active:
            if job.status != "storyboard_ready":
                self._ensure(job.id)
                self.recovered += 1
        logger.info("coordinator: recovery started %d of %d active jobs", self.recovered,
                    len(active))

    def describe_state(self) -> dict[str, Any]:
        return {"live_jobs": len(self.supervision.children), "recovered": self.recovered}

    def handle(self, message: Any) -> Any:
        if isinstance(message, StartJob):
            self._ensure(message.job_id)
        elif isinstance(message, ApproveJob):
            return _refusal(self._approve, message.job_id)
        elif isinstance(message, CancelJob):
            return _refusal(self._cancel, message.job_id)
        elif isinstance(message, RefreshPreview):
            self._preview(message.job_id)
        elif isinstance(message, PokeScene):
            record = self.supervision.get(job_child_id(message.job_id))
            if record is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    record.ref.tell(message)
        else:
            return super().handle(message)
        return None

    def child_exited(self, record: ChildRecord, event: ChildExited) -> None:
        job_id = record.spec.labels["job_id"]
        if job_id in self._resume_after_exit:
            self._resume_after_exit.discard(job_id)
            self._ensure(job_id)

    def child_gave_up(self, record: ChildRecord, reason: str) -> None:
        job_id = record.spec.labels["job_id"]
        self._resume_after_exit.discard(job_id)
        logger.error("job %d: coordinator gave up: %s", job_id, reason)
        with contextlib.suppress(Conflict), self.services.db.write() as conn:
            jobs.fail_job(conn, job_id, now=self.services.now(),
                          error="The job stopped because of an internal error that repeated "
                                "after several tries; start it again or contact support")

    def _ensure(self, job_id: int) -> None:
        """Start the job's actor, or tell the live one to re-read its row."""
        if job_child_id(job_id) in self.supervision.pending:
            return  # its restart is due soon, and a (re)started JobActor reads its row
        record = self.supervision.get(job_child_id(job_id))
        if record is not None:
            try:
                record.ref.tell(Resume())
            except pykka.ActorDeadError:
                # Its exit report is on the way: a crash is restarted (and counted) there;
                # after a normal stop, child_exited starts it again for this request.
                # Replacing it here would make that report stale and lose the count.
                self._resume_after_exit.add(job_id)
            return
        services = self.services
        self.supervision.remove(job_child_id(job_id))
        self.start_child(ChildSpec(
            job_child_id(job_id),
            lambda link: JobActor.start(services, job_id, parent=link),
            restart="transient",
            labels={"job_id": job_id},
        ))

    def _preview(self, job_id: int) -> None:
        """A JobActor's storyboard or ending: the root hands it to the PreviewActor."""
        if self.parent is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                self.parent.ref.tell(RefreshPreview(job_id))

    def _approve(self, job_id: int) -> None:
        """``storyboard_ready`` → rendering; :class:`Conflict` (to an ``ask``) otherwise."""
        with self.services.db.write() as conn:
            jobs.approve_job(conn, job_id, now=self.services.now())
        logger.info("job %d: approved", job_id)
        self._ensure(job_id)

    def _cancel(self, job_id: int) -> None:
        """Write the cancel, then stop the job's work; :class:`Conflict` if it is finished."""
        with self.services.db.write() as conn:
            jobs.cancel_job(conn, job_id, now=self.services.now())
        logger.info("job %d: cancelled", job_id)
        self._preview(job_id)
        record = self.supervision.get(job_child_id(job_id))
        if record is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                record.ref.tell(CancelJob(job_id))


def _refusal(transition: Any, job_id: int) -> Conflict | None:
    """Run a transition; a refusal is the answer (to an ``ask``), never a crash of ours."""
    try:
        transition(job_id)
    except Conflict as exc:
        logger.info("job %d: %s", job_id, exc.message)
        return exc
    return None


class RootSupervisor(SupervisedActor):
    """The root: one permanent Coordinator; forwards the API's commands to the current one."""

    kind = "root"

    def __init__(self, services: Services) -> None:
        super().__init__(parent=None, strategy="one_for_one",
                         intensity=services.options.root_intensity, on_exhausted="escalate",
                         shutdown_timeout=services.options.shutdown_timeout,
                         scheduler=services.scheduler)
        self.services = services
        self._undelivered: list[Any] = []

    def setup(self) -> None:
        self._start_coordinator()
        services = self.services
        if services.previews is not None:
            self.start_child(ChildSpec(
                PREVIEWS_ID,
                lambda link: PreviewActor.start(services, services.previews, parent=link),
                restart="permanent"))

    def _start_coordinator(self) -> None:
        services = self.services
        self.start_child(ChildSpec(
            COORDINATOR_ID, lambda link: Coordinator.start(services, parent=link),
            restart="permanent"))

    def start_child(self, spec: ChildSpec) -> pykka.ActorRef[Any]:
        ref = super().start_child(spec)
        if spec.child_id != COORDINATOR_ID:
            return ref
        # Commands that arrived while the Coordinator was restarting go to the new one.
        pending, self._undelivered = self._undelivered, []
        for message in pending:
            ref.tell(message)
        return ref

    def handle(self, message: Any) -> Any:
        if isinstance(message, RefreshPreview | RenderDraft):
            # Dropped when the PreviewActor is restarting: its start looks at every row again.
            record = self.supervision.get(PREVIEWS_ID)
            if record is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    record.ref.tell(message)
            return None
        if isinstance(message, PokeScene):  # a hint: dropped when nobody is there
            record = self.supervision.get(COORDINATOR_ID)
            if record is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    record.ref.tell(message)
            return None
        if isinstance(message, StartJob | ApproveJob | CancelJob):
            record = self.supervision.get(COORDINATOR_ID)
            try:
                if record is None:
                    raise pykka.ActorDeadError("no coordinator")
                record.ref.tell(message)
            except pykka.ActorDeadError:
                self._undelivered.append(message)
            return None
        if message == "coordinator_ref":
            record = self.supervision.get(COORDINATOR_ID)
            return record.ref if record else None
        return super().handle(message)

    def _die(self, *exc_info: Any) -> None:
        super()._die(*exc_info)
        reason = str(exc_info[1]) if exc_info[1] is not None else "unknown"
        logger.critical("root supervisor failed: %s; the actor tree is down", reason)
