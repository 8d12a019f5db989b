"""The supervision layer on its own: policy without threads, then real pykka actors."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pykka
import pytest

from actorvid.actors.supervision import SupervisedActor
from actorvid.actors.supervision_policy import (
    ChildExited,
    ChildSpec,
    Describe,
    InjectFailure,
    ParentLink,
    RestartIntensity,
    Supervision,
)
from tests.actors.helpers import wait_until

# --- the policy object, no threads ------------------------------------------------------


class FakeRef:
    def __init__(self, urn: str) -> None:
        self.actor_urn = urn


def _spec(child_id: str, restart: str = "transient") -> ChildSpec:
    return ChildSpec(child_id, start=lambda link: FakeRef(child_id), restart=restart)  # type: ignore[arg-type,return-value]


def test_restart_types_decide_what_is_restarted() -> None:
    sup = Supervision()
    for child_id, restart in (("p", "permanent"), ("t", "transient"), ("x", "temporary")):
        sup.add(_spec(child_id, restart), FakeRef(f"urn:{child_id}"))  # type: ignore[arg-type]
    # Normal exits: only the permanent child comes back.
    assert sup.decide(ChildExited("p", "urn:p", abnormal=False)).action == "restart"
    assert sup.decide(ChildExited("t", "urn:t", abnormal=False)).action == "forget"
    assert "t" not in sup.children
    # Abnormal: transient comes back, temporary does not.
    sup.add(_spec("t"), FakeRef("urn:t2"))  # type: ignore[arg-type]
    assert sup.decide(ChildExited("t", "urn:t2", abnormal=True)).action == "restart"
    assert sup.decide(ChildExited("x", "urn:x", abnormal=True)).action == "forget"


def test_stale_exit_of_a_replaced_instance_is_ignored() -> None:
    sup = Supervision()
    sup.add(_spec("a"), FakeRef("urn:new"))  # type: ignore[arg-type]
    assert sup.decide(ChildExited("a", "urn:old", abnormal=True)).action == "ignore"
    assert sup.decide(ChildExited("nobody", "urn:x", abnormal=True)).action == "ignore"


def test_intensity_gives_up_or_escalates_and_the_window_slides() -> None:
    now = [0.0]
    for mode, expected in (("give_up", "give_up"), ("escalate", "escalate")):
        now[0] = 0.0
        sup = Supervision(intensity=RestartIntensity(2, 10.0), on_exhausted=mode,  # type: ignore[arg-type]
                          monotonic=lambda: now[0])
        sup.add(_spec("a"), FakeRef("urn:a"))  # type: ignore[arg-type]
        assert sup.decide(ChildExited("a", "urn:a", True, "boom")).action == "restart"
        assert sup.decide(ChildExited("a", "urn:a", True, "boom")).action == "restart"
        decision = sup.decide(ChildExited("a", "urn:a", True, "boom"))
        assert decision.action == expected
        assert "boom" in decision.reason and "2 times" in decision.reason
        assert "a" not in sup.children
    # Restarts spread out over more than the window never exhaust the intensity.
    now[0] = 0.0
    sup = Supervision(intensity=RestartIntensity(2, 10.0), monotonic=lambda: now[0])
    sup.add(_spec("a"), FakeRef("urn:a"))  # type: ignore[arg-type]
    for _ in range(10):
        now[0] += 6.0
        assert sup.decide(ChildExited("a", "urn:a", True)).action == "restart"
    assert sup.restart_count("a") == 10


def test_one_for_all_restarts_every_child() -> None:
    sup = Supervision(strategy="one_for_all")
    for child_id in ("a", "b", "c"):
        sup.add(_spec(child_id), FakeRef(f"urn:{child_id}"))  # type: ignore[arg-type]
    decision = sup.decide(ChildExited("b", "urn:b", True))
    assert decision.action == "restart"
    assert decision.restart_ids == ("a", "b", "c")
    assert decision.stop_ids == ("a", "c")


# --- real actors ------------------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    fail: bool = False


@dataclass(frozen=True)
class Ping:
    pass


class Journal:
    """What happened, observable from the test thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.changed = threading.Condition(self.lock)

    def add(self, kind: str, who: str) -> None:
        with self.changed:
            self.events.append((kind, who))
            self.changed.notify_all()

    def count(self, kind: str, who: str | None = None) -> int:
        with self.lock:
            return sum(1 for k, w in self.events if k == kind and (who is None or w == who))

    def order(self, kind: str) -> list[str]:
        with self.lock:
            return [w for k, w in self.events if k == kind]


class FailFirst:
    """Truthy for the first ``n`` checks (thread-safe): a start that fails n times."""

    def __init__(self, n: int) -> None:
        self.lock = threading.Lock()
        self.left = n

    def is_set(self) -> bool:
        with self.lock:
            self.left -= 1
            return self.left >= 0


class Worker(SupervisedActor):
    kind = "worker"

    def __init__(self, name: str, journal: Journal, *, parent: ParentLink,
                 fail_on_start: threading.Event | FailFirst | None = None,
                 children: int = 0) -> None:
        super().__init__(parent=parent, shutdown_timeout=2.0)
        self.name = name
        self.journal = journal
        self.fail_on_start = fail_on_start
        self.n_children = children

    def setup(self) -> None:
        self.journal.add("start", self.name)
        if self.fail_on_start is not None and self.fail_on_start.is_set():
            raise RuntimeError(f"{self.name} cannot start")
        for i in range(self.n_children):
            self.start_child(worker_spec(f"{self.name}.{i}", self.journal))

    def handle(self, message: Any) -> Any:
        if isinstance(message, Work) and message.fail:
            raise ValueError(f"{self.name} failed on purpose")
        if isinstance(message, Ping):
            return self.name
        return None

    def teardown(self) -> None:
        self.journal.add("stop", self.name)


def worker_spec(name: str, journal: Journal, restart: str = "transient", **kwargs: Any
                ) -> ChildSpec:
    return ChildSpec(name, lambda link: Worker.start(name, journal, parent=link, **kwargs),
                     restart=restart)  # type: ignore[arg-type]


class Parent(SupervisedActor):
    kind = "parent"

    def __init__(self, specs: list[ChildSpec], journal: Journal, *,
                 parent: ParentLink | None = None, **kwargs: Any) -> None:
        super().__init__(parent=parent, shutdown_timeout=2.0, **kwargs)
        self.specs = specs
        self.journal = journal

    def setup(self) -> None:
        for spec in self.specs:
            self.start_child(spec)

    def handle(self, message: Any) -> Any:
        if isinstance(message, tuple) and message[0] == "ref":
            record = self.supervision.get(message[1])
            return record.ref if record else None
        return None

    def child_gave_up(self, record: Any, reason: str) -> None:
        self.journal.add("gave_up", f"{record.spec.child_id}: {reason}")


def child_ref(parent: pykka.ActorRef[Any], child_id: str) -> pykka.ActorRef[Any] | None:
    return parent.ask(("ref", child_id), block=True, timeout=2)


def test_a_failing_child_is_restarted_and_answers_again() -> None:
    journal = Journal()
    parent = Parent.start([worker_spec("a", journal), worker_spec("b", journal)], journal)
    first = wait_until(lambda: child_ref(parent, "a"))
    first.tell(Work(fail=True))
    wait_until(lambda: journal.count("start", "a") == 2, message="restart of a")
    second = wait_until(lambda: child_ref(parent, "a"))
    assert second.actor_urn != first.actor_urn
    assert second.ask(Ping(), timeout=2) == "a"
    assert journal.count("start", "b") == 1  # one_for_one: the sibling was untouched
    info = parent.ask(Describe(), block=True, timeout=2)
    assert {c["child_id"]: c["restarts"] for c in info["children"]} == {"a": 1, "b": 0}
    parent.stop(timeout=5)


def test_a_crash_loop_in_on_start_stops_at_the_intensity_and_calls_the_hook() -> None:
    journal = Journal()
    broken = threading.Event()
    broken.set()
    parent_ref = Parent.start(
        [worker_spec("bad", journal, fail_on_start=broken), worker_spec("good", journal)],
        journal, intensity=RestartIntensity(3, 30.0),
    )
    wait_until(lambda: journal.count("gave_up") == 1, message="give up")
    assert journal.count("start", "bad") == 4  # the first start and three restarts
    [gave_up] = journal.order("gave_up")
    assert gave_up.startswith("bad: restarted more than 3 times") and "cannot start" in gave_up
    assert child_ref(parent_ref, "bad") is None
    good = child_ref(parent_ref, "good")
    assert good is not None and good.ask(Ping(), timeout=2) == "good"
    parent_ref.stop(timeout=5)


def test_escalation_fails_the_parent_and_the_grandparent_restarts_it() -> None:
    journal = Journal()
    failures = FailFirst(3)  # leaf fails 3 starts: twice under middle #1, once under middle #2
    middle = ChildSpec(
        "middle",
        lambda link: Parent.start([worker_spec("leaf", journal, fail_on_start=failures)],
                                  journal, parent=link, intensity=RestartIntensity(1, 30.0),
                                  on_exhausted="escalate"),
        restart="permanent",
    )
    top = Parent.start([middle], journal, intensity=RestartIntensity(5, 30.0))
    first_middle = wait_until(lambda: child_ref(top, "middle"))

    def new_middle_with_leaf() -> bool:
        ref = child_ref(top, "middle")
        if ref is None or ref.actor_urn == first_middle.actor_urn:
            return False
        try:
            leaf = child_ref(ref, "leaf")
            return leaf is not None and leaf.ask(Ping(), timeout=2) == "leaf"
        except pykka.ActorDeadError:
            return False

    wait_until(new_middle_with_leaf, message="middle restarted with a working leaf")
    assert journal.count("start", "leaf") == 4
    info = top.ask(Describe(), block=True, timeout=2)
    assert [c["restarts"] for c in info["children"]] == [1]
    top.stop(timeout=5)


def test_a_dying_parent_takes_its_children_down() -> None:
    journal = Journal()
    parent = Parent.start([worker_spec("a", journal, children=2)], journal)
    a = wait_until(lambda: child_ref(parent, "a"))
    wait_until(lambda: journal.count("start") == 3)
    grandchildren = [r for r in pykka.ActorRegistry.get_all() if r.actor_urn not in
                     (parent.actor_urn, a.actor_urn)]
    assert len(grandchildren) == 2
    parent.tell(InjectFailure("parent bug"))
    wait_until(lambda: not parent.is_alive() and not a.is_alive()
               and not any(r.is_alive() for r in grandchildren), message="subtree down")
    assert pykka.ActorRegistry.get_all() == []


def test_stop_is_leaf_first() -> None:
    journal = Journal()
    parent = Parent.start([worker_spec("a", journal, children=2),
                           worker_spec("b", journal, children=1)], journal)
    wait_until(lambda: journal.count("start") == 5)
    assert parent.stop(timeout=5)
    order = journal.order("stop")
    assert sorted(order) == ["a", "a.0", "a.1", "b", "b.0"]
    assert order.index("a.0") < order.index("a") and order.index("a.1") < order.index("a")
    assert order.index("b.0") < order.index("b")
    assert pykka.ActorRegistry.get_all() == []


def test_a_child_that_does_not_stop_in_time_is_logged_as_a_bug(caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    journal = Journal()
    release = threading.Event()

    class Stuck(SupervisedActor):
        def handle(self, message: Any) -> Any:
            release.wait(10)  # the bug under test: a handler that blocks its mailbox

    spec = ChildSpec("stuck", lambda link: Stuck.start(parent=link))
    parent = Parent.start([spec], journal)
    stuck = wait_until(lambda: child_ref(parent, "stuck"))
    stuck.tell("block")
    parent_actor = parent._actor_weakref()  # noqa: SLF001 - shorten the deadline for the test
    assert parent_actor is not None
    parent_actor.shutdown_timeout = 0.2
    with caplog.at_level("ERROR"):
        assert parent.stop(timeout=5)
    assert any("did not stop within" in r.getMessage() for r in caplog.records)
    assert stuck.is_alive()
    release.set()
    wait_until(lambda: not stuck.is_alive())


def test_one_for_all_restarts_the_siblings_too() -> None:
    journal = Journal()
    parent = Parent.start([worker_spec("a", journal), worker_spec("b", journal)], journal,
                          strategy="one_for_all")
    a = wait_until(lambda: child_ref(parent, "a"))
    wait_until(lambda: journal.count("start") == 2)
    a.tell(Work(fail=True))
    wait_until(lambda: journal.count("start", "a") == 2 and journal.count("start", "b") == 2)
    assert journal.count("stop", "b") == 1
    parent.stop(timeout=5)
