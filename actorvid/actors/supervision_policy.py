"""The supervision policy of ``actors/supervision.py`` as plain values and a plain object.

Child specs, the messages a parent and its children exchange, restart intensity and
:class:`Supervision`, the bookkeeping that decides restart / give up / escalate: no threads and
no actor here, so the policy is unit-tested without actors. Split out of ``supervision.py``
(issue 16), which keeps the pykka shell (:class:`SupervisedActor`) and re-exports these names.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pykka

from actorvid.clock import now_iso

Restart = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all"]
OnExhausted = Literal["give_up", "escalate"]

DEFAULT_SHUTDOWN_SECONDS = 5.0


@dataclass(frozen=True)
class RestartIntensity:
    """At most ``max_restarts`` restarts of one child within ``max_seconds``.

    ``backoff``: the first restart waits that long, each further one in the window twice as
    long. OTP restarts at once (``backoff=0``), but a crash that repeats within milliseconds
    (a database briefly busy, a provider blip) would then spend the whole intensity in one burst
    and give up on work that a moment's wait would have saved.
    """

    max_restarts: int = 3
    max_seconds: float = 5.0
    backoff: float = 0.0

    def delay(self, restarts_in_window: int) -> float:
        if self.backoff <= 0 or restarts_in_window <= 0:
            return 0.0
        return min(self.backoff * 2 ** (restarts_in_window - 1), self.max_seconds / 2)


@dataclass(frozen=True)
class ParentLink:
    """What a child knows of its parent: where to report, and under which child id."""

    ref: pykka.ActorRef[Any]
    child_id: str


@dataclass(frozen=True)
class ChildSpec:
    """How to start (and restart) one child.

    ``start`` receives the :class:`ParentLink` to pass to the child's constructor and returns
    the started actor's ref. ``labels`` travel into the debug snapshot (job id, scene id).
    """

    child_id: str
    start: Callable[[ParentLink], pykka.ActorRef[Any]]
    restart: Restart = "transient"
    labels: dict[str, Any] = field(default_factory=dict)


# --- messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildExited:
    """Event: a child stopped. ``abnormal`` is False for a normal stop."""

    child_id: str
    urn: str
    abnormal: bool
    reason: str = ""


@dataclass(frozen=True)
class InjectFailure:
    """Command (fault injection): raise in the handler, as a bug would."""

    reason: str = "injected failure"


class InjectedFailure(RuntimeError):
    """Raised by :class:`InjectFailure`."""


class EscalatedFailure(RuntimeError):
    """A supervisor gave up on a child and fails itself so that its parent decides."""


@dataclass(frozen=True)
class Describe:
    """Query (ask): the actor's own view of itself for the debug snapshot."""


@dataclass(frozen=True)
class RestartDue:
    """Timer message: the backoff of a restart is over; start the child again."""

    child_ids: tuple[str, ...]


# --- the policy, as a plain object ------------------------------------------------------


@dataclass
class ChildRecord:
    spec: ChildSpec
    ref: pykka.ActorRef[Any]
    started_at: str
    restarts: int = 0


@dataclass(frozen=True)
class Decision:
    """What to do about one :class:`ChildExited`.

    ``action``: ``ignore`` (stale or unknown), ``forget`` (no restart due), ``restart`` (restart
    ``restart_ids``, after stopping ``stop_ids`` for one_for_all), ``give_up`` or ``escalate``.
    """

    action: Literal["ignore", "forget", "restart", "give_up", "escalate"]
    child_id: str
    reason: str = ""
    restart_ids: tuple[str, ...] = ()
    stop_ids: tuple[str, ...] = ()
    delay: float = 0.0  # seconds to wait before the restart (see RestartIntensity.backoff)


class Supervision:
    """Children of one parent: specs, live refs, restart history, and the restart decision."""

    def __init__(
        self,
        *,
        strategy: Strategy = "one_for_one",
        intensity: RestartIntensity | None = None,
        on_exhausted: OnExhausted = "give_up",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.strategy = strategy
        self.intensity = intensity or RestartIntensity()
        self.on_exhausted = on_exhausted
        self._monotonic = monotonic
        self.children: dict[str, ChildRecord] = {}  # insertion order = start order
        # Children whose restart waits out its backoff: not running, but not gone either.
        self.pending: dict[str, ChildSpec] = {}
        self._history: dict[str, deque[float]] = {}
        self._restart_counts: dict[str, int] = {}

    def known(self, child_id: str) -> bool:
        """Running, or about to be restarted."""
        return child_id in self.children or child_id in self.pending

    def add(self, spec: ChildSpec, ref: pykka.ActorRef[Any]) -> ChildRecord:
        record = ChildRecord(spec, ref, now_iso(), self._restart_counts.get(spec.child_id, 0))
        self.children[spec.child_id] = record
        return record

    def get(self, child_id: str) -> ChildRecord | None:
        return self.children.get(child_id)

    def remove(self, child_id: str) -> ChildRecord | None:
        return self.children.pop(child_id, None)

    def decide(self, event: ChildExited) -> Decision:
        record = self.children.get(event.child_id)
        # An exit of an instance we already replaced (or stopped on purpose) is stale.
        if record is None or record.ref.actor_urn != event.urn:
            return Decision("ignore", event.child_id)
        spec = record.spec
        due = spec.restart == "permanent" or (spec.restart == "transient" and event.abnormal)
        if not due:
            del self.children[event.child_id]
            self.forget_history(event.child_id)
            return Decision("forget", event.child_id, event.reason)
        if not self._record_restart(event.child_id):
            del self.children[event.child_id]
            reason = (
                f"restarted more than {self.intensity.max_restarts} times in "
                f"{self.intensity.max_seconds:g}s; last exit: {event.reason or 'normal'}"
            )
            action: Literal["give_up", "escalate"] = (
                "escalate" if self.on_exhausted == "escalate" else "give_up"
            )
            return Decision(action, event.child_id, reason)
        delay = self.intensity.delay(len(self._history.get(event.child_id, ())))
        if self.strategy == "one_for_all":
            ids = tuple(self.children)
            others = tuple(cid for cid in ids if cid != event.child_id)
            return Decision("restart", event.child_id, event.reason, ids, others, delay)
        return Decision("restart", event.child_id, event.reason, (event.child_id,), delay=delay)

    def _record_restart(self, child_id: str) -> bool:
        now = self._monotonic()
        window = self._history.setdefault(child_id, deque())
        while window and now - window[0] > self.intensity.max_seconds:
            window.popleft()
        if len(window) >= self.intensity.max_restarts:
            return False
        window.append(now)
        self._restart_counts[child_id] = self._restart_counts.get(child_id, 0) + 1
        return True

    def forget_history(self, child_id: str) -> None:
        self.pending.pop(child_id, None)
        self._history.pop(child_id, None)
        self._restart_counts.pop(child_id, None)

    def restart_count(self, child_id: str) -> int:
        return self._restart_counts.get(child_id, 0)
