"""A small OTP-style supervision layer on pykka.

pykka gives actors, mailboxes and ``on_failure`` but no supervisors; this module adds them, as
Erlang/OTP means them:

- A parent starts its children from :class:`ChildSpec` s. Every child is a
  :class:`SupervisedActor`: when it dies abnormally (an exception in ``on_start`` or in a
  ``tell``-driven handler) it tells its parent :class:`ChildExited` with the reason; when it stops
  normally it tells the parent too. Failures are visible only for work that arrives by ``tell``
  (pykka hands an exception in an ``ask`` back to the caller and the actor lives on), so actors
  take work by ``tell`` and answer queries by ``ask``.
- Strategies: ``one_for_one`` restarts the child that died; ``one_for_all`` stops the others and
  restarts them all.
- Restart types: ``permanent`` (always restarted), ``transient`` (restarted only after an
  abnormal exit), ``temporary`` (never restarted).
- Restart intensity: more than ``max_restarts`` restarts within ``max_seconds`` and the parent
  stops restarting. With ``on_exhausted="give_up"`` it forgets that child and calls
  :meth:`SupervisedActor.child_gave_up` (a JobActor marks its job failed there); with
  ``"escalate"`` the parent fails itself, so *its* parent decides, as OTP does. We count restarts
  per child rather than per supervisor, so a crash loop of one job never costs its siblings.
- A parent that dies (or stops) takes its children down first, leaf-first: each actor's
  ``on_stop``/``on_failure`` stops its own children and waits for them within a deadline, so the
  deepest actors finish first. A child still alive at the deadline is logged as a bug.

The bookkeeping lives in :class:`Supervision`, a plain object (no threads) so the policy is
unit-tested without actors; it and the messages are in ``actors/supervision_policy.py`` (and
re-exported here, where the actors import them from). :class:`SupervisedActor` is the thin pykka
shell around it.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback as tb
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import pykka

from actorvid.actors.supervision_policy import (
    DEFAULT_SHUTDOWN_SECONDS,
    ChildExited,
    ChildRecord,
    ChildSpec,
    Decision,
    Describe,
    EscalatedFailure,
    InjectedFailure,
    InjectFailure,
    OnExhausted,
    ParentLink,
    RestartDue,
    RestartIntensity,
    Strategy,
    Supervision,
)
from actorvid.actors.timers import Scheduler, TimerHandle
from actorvid.clock import now_iso

logger = logging.getLogger(__name__)

# ChildExited, ChildRecord, ChildSpec and ParentLink are re-exported: actors/job.py and
# actors/scene.py (edited by other work this round) import them from here.
__all__ = ["ChildExited", "ChildRecord", "ChildSpec", "ParentLink", "SupervisedActor",
           "stop_refs"]

def stop_refs(refs: Iterable[pykka.ActorRef[Any]], *, timeout: float, owner: str) -> list[str]:
    """Ask every ref to stop, then wait for all within ``timeout``; return the survivors' urns.

    Stops are sent to all first and awaited together, so siblings stop in parallel; each child
    waits for its own children in its ``on_stop``, which makes the whole shutdown leaf-first.
    """
    deadline = time.monotonic() + timeout
    pending: list[tuple[pykka.ActorRef[Any], pykka.Future[bool] | None]] = []
    for ref in refs:
        try:
            pending.append((ref, ref.stop(block=False)))
        except pykka.ActorDeadError:
            pending.append((ref, None))
    survivors: list[str] = []
    for ref, future in pending:
        if future is None:
            continue
        try:
            future.get(timeout=max(0.0, deadline - time.monotonic()))
        except pykka.Timeout:
            survivors.append(ref.actor_urn)
            logger.error("bug: %s did not stop within %.1fs (stopping %s)", ref, timeout, owner)
    return survivors


# --- the actor shell ----------------------------------------------------------------------


class SupervisedActor(pykka.ThreadingActor):
    """A pykka actor with a parent to report to and (optionally) children to supervise.

    Subclasses implement :meth:`setup` (instead of ``on_start``), :meth:`handle` (instead of
    ``on_receive``), :meth:`teardown` (instead of ``on_stop``), :meth:`describe_state` for the
    debug snapshot, and :meth:`child_gave_up` if they supervise with ``on_exhausted="give_up"``.
    """

    kind = "actor"
    # Daemon threads: interpreter exit never waits on actors, so an atexit hook (or the CLI)
    # can still stop the tree leaf-first; every fact is in SQLite if nothing stops it.
    use_daemon_thread = True

    def __init__(
        self,
        *,
        parent: ParentLink | None = None,
        strategy: Strategy = "one_for_one",
        intensity: RestartIntensity | None = None,
        on_exhausted: OnExhausted = "give_up",
        shutdown_timeout: float = DEFAULT_SHUTDOWN_SECONDS,
        scheduler: Scheduler | None = None,
    ) -> None:
        super().__init__()
        self.parent = parent
        # Restart backoffs wait on the timer heap; without a scheduler restarts are immediate.
        self.scheduler = scheduler
        self._restart_timers: list[TimerHandle] = []
        self.supervision = Supervision(
            strategy=strategy, intensity=intensity, on_exhausted=on_exhausted
        )
        self.shutdown_timeout = shutdown_timeout
        self.started_at = now_iso()
        # Written only by the actor's thread; read (atomically) by the debug snapshot even when
        # the actor is stuck, to say which message it is stuck on.
        self.last_message: str | None = None
        self.last_message_at: str | None = None
        self._exit_reported = False

    # --- hooks for subclasses ---------------------------------------------------------

    def setup(self) -> None:
        """Load state and start children. Runs on the actor's thread before any message."""

    def handle(self, message: Any) -> Any:
        logger.warning("%s: unexpected message %r", self, message)
        return None

    def teardown(self) -> None:
        """Release resources on a normal stop (after the children stopped)."""

    def describe_state(self) -> dict[str, Any]:
        return {}

    def child_gave_up(self, record: ChildRecord, reason: str) -> None:
        """The restart intensity of ``record`` was exceeded and we stopped restarting it."""
        logger.error("%s gave up on child %s: %s", self, record.spec.child_id, reason)

    def child_exited(self, record: ChildRecord, event: ChildExited) -> None:
        """A child stopped for good (normal exit, or a temporary child that failed)."""

    # --- children ---------------------------------------------------------------------

    def start_child(self, spec: ChildSpec) -> pykka.ActorRef[Any]:
        """Start ``spec`` as a child of this actor (replacing nothing: ids must be unique)."""
        if spec.child_id in self.supervision.children:
            raise ValueError(f"child {spec.child_id} already running under {self}")
        ref = spec.start(ParentLink(self.actor_ref, spec.child_id))
        self.supervision.add(spec, ref)
        return ref

    def stop_child(self, child_id: str, *, timeout: float | None = None) -> bool:
        """Stop one child on purpose (it will not be restarted). True if it stopped in time."""
        record = self.supervision.remove(child_id)
        if record is None:
            return True
        self.supervision.forget_history(child_id)
        owner = str(self)
        return not stop_refs([record.ref], timeout=timeout or self.shutdown_timeout, owner=owner)

    def stop_children(self) -> list[str]:
        """Stop every child (reverse start order of sending; awaited together)."""
        for timer in self._restart_timers:
            timer.cancel()
        self._restart_timers.clear()
        self.supervision.pending.clear()
        records = list(self.supervision.children.values())
        self.supervision.children.clear()
        if not records:
            return []
        refs = [record.ref for record in reversed(records)]
        return stop_refs(refs, timeout=self.shutdown_timeout, owner=str(self))

    # --- pykka hooks --------------------------------------------------------------------

    def on_start(self) -> None:
        try:
            self.setup()
        except Exception:
            # pykka does not call on_failure for on_start; report here, then let pykka log it.
            self._die(*sys.exc_info())
            raise

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Describe):
            return self._describe()  # not recorded: the snapshot must not overwrite its data
        self.last_message = type(message).__name__
        self.last_message_at = now_iso()
        if isinstance(message, ChildExited):
            self._on_child_exited(message)
            return None
        if isinstance(message, InjectFailure):
            raise InjectedFailure(message.reason)
        if isinstance(message, RestartDue):
            self._restart_due(message)
            return None
        return self.handle(message)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._die(exception_type, exception_value, traceback)

    def on_stop(self) -> None:
        self.stop_children()
        try:
            self.teardown()
        finally:
            self._report_exit(abnormal=False, reason="")

    # --- internals -----------------------------------------------------------------------

    def _die(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A dying parent takes its children down first, like linked processes.
        self.stop_children()
        reason = "".join(tb.format_exception_only(exception_type, exception_value)).strip()
        self._report_exit(abnormal=True, reason=reason)

    def _report_exit(self, *, abnormal: bool, reason: str) -> None:
        if self._exit_reported or self.parent is None:
            return
        self._exit_reported = True
        event = ChildExited(self.parent.child_id, self.actor_urn, abnormal, reason)
        try:
            self.parent.ref.tell(event)
        except pykka.ActorDeadError:
            # The parent is stopping or gone; it stops (or already stopped) us anyway.
            logger.debug("%s: parent gone, exit of %s not reported", self, self.parent.child_id)

    def _on_child_exited(self, event: ChildExited) -> None:
        record = self.supervision.get(event.child_id)
        decision = self.supervision.decide(event)
        if decision.action == "ignore":
            return
        assert record is not None
        if event.abnormal:
            logger.warning("%s: child %s exited abnormally: %s", self, event.child_id,
                           event.reason)
        if decision.action == "forget":
            self.child_exited(record, event)
        elif decision.action == "give_up":
            logger.error("%s: giving up on child %s: %s", self, event.child_id, decision.reason)
            self.child_gave_up(record, decision.reason)
        elif decision.action == "escalate":
            logger.error("%s: escalating, child %s: %s", self, event.child_id, decision.reason)
            raise EscalatedFailure(f"child {event.child_id}: {decision.reason}")
        else:
            self._restart(decision, record)

    def _restart(self, decision: Decision, failed: ChildRecord) -> None:
        specs = {failed.spec.child_id: failed.spec}
        if decision.stop_ids:
            stopping = [self.supervision.remove(cid) for cid in decision.stop_ids]
            live = [r for r in stopping if r is not None]
            specs.update({r.spec.child_id: r.spec for r in live})
            stop_refs([r.ref for r in reversed(live)], timeout=self.shutdown_timeout,
                      owner=str(self))
        for child_id in decision.restart_ids:
            self.supervision.children.pop(child_id, None)
            self.supervision.pending[child_id] = specs[child_id]
        if decision.delay > 0 and self.scheduler is not None:
            logger.info("%s: restarting %s in %.2fs", self, ", ".join(decision.restart_ids),
                        decision.delay)
            self._restart_timers = [t for t in self._restart_timers if not t.fired]
            self._restart_timers.append(self.scheduler.send_after(
                self.actor_ref, RestartDue(decision.restart_ids), decision.delay))
        else:
            self._restart_due(RestartDue(decision.restart_ids))

    def _restart_due(self, message: RestartDue) -> None:
        for child_id in message.child_ids:
            spec = self.supervision.pending.pop(child_id, None)
            if spec is None:
                continue  # stopped (or forgotten) while its backoff ran
            logger.info("%s: restarting child %s (restart %d)", self, child_id,
                        self.supervision.restart_count(child_id))
            self.start_child(spec)

    def _describe(self) -> dict[str, Any]:
        children = [
            {
                "child_id": record.spec.child_id,
                "urn": record.ref.actor_urn,
                "kind": getattr(record.ref.actor_class, "kind", record.ref.actor_class.__name__),
                "labels": dict(record.spec.labels),
                "started_at": record.started_at,
                "restarts": record.restarts,
                "ref": record.ref,
            }
            for record in self.supervision.children.values()
        ]
        return {
            "kind": self.kind,
            "urn": self.actor_urn,
            "started_at": self.started_at,
            "last_message": self.last_message,
            "last_message_at": self.last_message_at,
            "state": self.describe_state(),
            "children": children,
        }
