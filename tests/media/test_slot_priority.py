"""MediaSlots priorities: a waiting finish step gets the next free slot before any preview."""

from __future__ import annotations

import threading

from actorvid.media.ffmpeg import PRIORITY_NORMAL, PRIORITY_PREVIEW, MediaSlots
from tests.conftest import wait_until


def test_a_freed_slot_goes_to_the_normal_waiter_before_earlier_previews() -> None:
    slots = MediaSlots(1)  # one slot: previews may take it, but never before a finish step
    assert slots.acquire(timeout=1)
    order: list[str] = []
    done = threading.Lock()

    def take(name: str, priority: int) -> None:
        assert slots.acquire(timeout=30, priority=priority)
        with done:
            order.append(name)
        slots.release()

    previews = [threading.Thread(target=take, args=(f"preview{i}", PRIORITY_PREVIEW))
                for i in range(3)]
    for thread in previews:
        thread.start()
    wait_until(lambda: slots.waiting == 3, timeout=10)
    finish = threading.Thread(target=take, args=("finish", PRIORITY_NORMAL))
    finish.start()  # queued last, served first
    wait_until(lambda: slots.waiting == 4, timeout=10)
    slots.release()
    for thread in [*previews, finish]:
        thread.join(timeout=30)
    assert order[0] == "finish" and sorted(order[1:]) == ["preview0", "preview1", "preview2"]
    assert slots.busy == 0 and slots.waiting == 0


def test_a_preview_takes_a_free_slot_and_times_out_behind_normal_waiters() -> None:
    slots = MediaSlots(1)
    assert slots.acquire(priority=PRIORITY_PREVIEW)
    slots.release()
    assert slots.acquire()
    assert not slots.acquire(timeout=0.05, priority=PRIORITY_PREVIEW)
    slots.release()
    assert slots.busy == 0


def test_previews_leave_the_last_slot_to_paid_work() -> None:
    slots = MediaSlots(2)
    assert slots.acquire(timeout=1, priority=PRIORITY_PREVIEW)
    assert not slots.acquire(timeout=0.05, priority=PRIORITY_PREVIEW)
    assert slots.acquire(timeout=0)  # a finish step arriving now does not wait
    slots.release()
    slots.release()
    assert slots.busy == 0
