"""The fair pool and concurrency slots that keep tenants from starving each other."""

from __future__ import annotations

import functools
import threading

import pytest

from actorvid.errors import RateLimited
from actorvid.limits import ConcurrencySlots, FairPool


def test_a_slow_owner_waits_behind_its_own_work_not_in_front_of_others() -> None:
    pool = FairPool(workers=3, per_owner=2, name="test-fair")
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow() -> str:
        started.release()
        release.wait(30)
        return "slow"

    try:
        slow_futures = [pool.submit("tenant-a", slow) for _ in range(10)]
        for _ in range(2):
            assert started.acquire(timeout=30)
        # tenant-a has its two running and eight queued; tenant-b still gets a worker.
        assert pool.submit("tenant-b", lambda: "fast").result(timeout=30) == "fast"
        assert pool.running("tenant-a") == 2
        assert sum(f.done() for f in slow_futures) == 0
    finally:
        release.set()
    assert [f.result(timeout=30) for f in slow_futures] == ["slow"] * 10


def test_owners_take_turns() -> None:
    pool = FairPool(workers=1, per_owner=1, name="test-turns")
    gate, running = threading.Event(), threading.Event()
    order: list[str] = []
    def hold() -> bool:
        running.set()
        return gate.wait(30)

    first = pool.submit("a", hold)
    assert running.wait(30)
    futures = [pool.submit(owner, functools.partial(order.append, owner))
               for owner in ("a", "a", "a", "b", "c")]
    gate.set()
    first.result(timeout=30)
    for future in futures:
        future.result(timeout=30)
    assert order == ["a", "b", "c", "a", "a"]


def test_slots_bound_the_total_and_each_owner() -> None:
    slots = ConcurrencySlots(3, 2, busy_message="busy", retry_after=5)
    a1, _a2 = slots.acquire("a"), slots.acquire("a")
    with pytest.raises(RateLimited) as refused:
        slots.acquire("a")
    assert refused.value.retry_after == 5
    slots.acquire("b")
    with pytest.raises(RateLimited):
        slots.acquire("c")
    a1()
    a1()  # a release is idempotent
    slots.acquire("c")
    assert slots.in_use() == 3
