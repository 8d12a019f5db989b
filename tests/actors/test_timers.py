"""The timer scheduler on its own: order, cancel, one thread for many timers, backoff."""

from __future__ import annotations

import threading
import time
from typing import Any

import pykka
import pytest

from actorvid.actors.timers import Scheduler, SchedulerStopped, poll_delays
from tests.actors.helpers import wait_until


class Collector(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.got: list[tuple[Any, float]] = []

    def on_receive(self, message: Any) -> Any:
        if message == "get":
            with self.lock:
                return list(self.got)
        with self.lock:
            self.got.append((message, time.monotonic()))
        return None


@pytest.fixture
def scheduler() -> Any:
    sched = Scheduler(name="test-timers").start()
    yield sched
    assert sched.stop(timeout=2)


def received(ref: pykka.ActorRef[Any]) -> list[Any]:
    return [m for m, _ in ref.ask("get", block=True, timeout=2)]


def test_messages_arrive_in_due_order_not_send_order(scheduler: Scheduler) -> None:
    ref = Collector.start()
    sent = time.monotonic()
    scheduler.send_after(ref, "late", 0.15)
    scheduler.send_after(ref, "early", 0.05)
    scheduler.send_after(ref, "now", 0)
    wait_until(lambda: len(received(ref)) == 3)
    got = ref.ask("get", block=True, timeout=2)
    assert [m for m, _ in got] == ["now", "early", "late"]
    assert got[2][1] - sent >= 0.15


def test_cancelled_timers_never_fire(scheduler: Scheduler) -> None:
    ref = Collector.start()
    handle = scheduler.send_after(ref, "cancelled", 0.05)
    marker = scheduler.send_after(ref, "marker", 0.1)
    assert handle.cancel() is True
    assert handle.cancel() is False  # idempotent
    wait_until(lambda: received(ref) == ["marker"])
    assert marker.fired and not marker.cancel()
    assert scheduler.pending() == 0


def test_a_thousand_timers_share_one_thread(scheduler: Scheduler) -> None:
    ref = Collector.start()
    before = threading.active_count()
    # Due well after the setup, even on a busy machine, so none fires before it is counted.
    handles = [scheduler.send_after(ref, i, 1.0 + (i % 10) * 0.01) for i in range(1000)]
    assert threading.active_count() == before
    assert scheduler.pending() == 1000
    for h in handles[::2]:
        h.cancel()
    assert scheduler.pending() == 500
    wait_until(lambda: len(received(ref)) == 500, timeout=30)
    assert sorted(received(ref)) == list(range(1, 1000, 2))


def test_a_dead_target_is_skipped_and_the_scheduler_carries_on(scheduler: Scheduler) -> None:
    dead = Collector.start()
    dead.stop(timeout=2)
    alive = Collector.start()
    scheduler.send_after(dead, "lost", 0)
    scheduler.send_after(alive, "after", 0.01)
    wait_until(lambda: received(alive) == ["after"])


def test_stop_drops_pending_and_refuses_new_timers() -> None:
    sched = Scheduler().start()
    ref = Collector.start()
    sched.send_after(ref, "never", 0.05)
    assert sched.stop(timeout=2)
    with pytest.raises(SchedulerStopped):
        sched.send_after(ref, "x", 0)
    # The dropped timer would have been due long ago by the time this ask returns twice.
    deadline = time.monotonic() + 0.1
    while time.monotonic() < deadline:
        assert received(ref) == []


def test_poll_delays_grow_exponentially_capped_with_jitter() -> None:
    plain = poll_delays(first=1, factor=2, maximum=10, jitter=None)
    assert [next(plain) for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    jittered = poll_delays(first=1, factor=2, maximum=10, minimum=0.1)
    values = [next(jittered) for _ in range(200)]
    assert all(0.1 <= v <= 10 for v in values)
    assert len(set(values)) > 100  # full jitter spreads the polls
    assert max(values[100:]) > 5  # later delays reach towards the cap
