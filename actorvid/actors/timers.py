"""Timers: ``send_after(actor_ref, message, delay)`` on one scheduler thread.

This is Erlang's ``Process.send_after``: an actor that has to wait (between two polls of a
prediction, before a retry) asks the scheduler to tell it a message later and returns to its
mailbox, so it can still take ``cancel`` or a debug query meanwhile. No handler ever sleeps.

All timers share one thread and one heap of due messages: a thousand scenes waiting are a
thousand heap entries, not a thousand threads. A cancelled timer stays in the heap, marked, until
it comes due or the heap is compacted; cancel is O(1).

Polling delays come from the ``backoff`` library's wait generators (exponential, full jitter).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import backoff
import pykka

logger = logging.getLogger(__name__)


class TimerHandle:
    """One scheduled message. :meth:`cancel` is safe from any thread, and idempotent."""

    __slots__ = ("due", "seq", "target", "message", "_cancelled", "_fired", "_scheduler")

    def __init__(self, due: float, seq: int, target: pykka.ActorRef[Any], message: Any,
                 scheduler: Scheduler) -> None:
        self.due = due
        self.seq = seq
        self.target = target
        self.message = message
        self._cancelled = False
        self._fired = False
        self._scheduler = scheduler

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def fired(self) -> bool:
        return self._fired

    def cancel(self) -> bool:
        """Cancel the timer; True if it had not fired yet."""
        return self._scheduler._cancel(self)

    def __repr__(self) -> str:
        return f"<TimerHandle {type(self.message).__name__} -> {self.target} due={self.due:.3f}>"


class SchedulerStopped(RuntimeError):
    """``send_after`` on a scheduler that is not running."""


class Scheduler:
    """One thread delivering due messages from a heap. Start once, stop once."""

    def __init__(self, *, name: str = "actorvid-timers",
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._name = name
        self._monotonic = monotonic
        self._heap: list[TimerHandle] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._running = False
        self._cancelled_in_heap = 0

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Scheduler:
        with self._cond:
            if self._running:
                return self
            self._running = True
            # A daemon thread: a forgotten scheduler must never keep the process alive.
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop delivering; pending timers are dropped. True if the thread ended in time."""
        with self._cond:
            self._running = False
            for handle in self._heap:
                handle._cancelled = True
            self._heap.clear()
            self._cancelled_in_heap = 0
            self._cond.notify_all()
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._running

    def pending(self) -> int:
        """Timers waiting to fire (not cancelled)."""
        with self._cond:
            return len(self._heap) - self._cancelled_in_heap

    # --- API ----------------------------------------------------------------------------

    def send_after(self, target: pykka.ActorRef[Any], message: Any, delay: float) -> TimerHandle:
        """Tell ``target`` ``message`` after ``delay`` seconds; a dead target is skipped."""
        with self._cond:
            if not self._running:
                raise SchedulerStopped("the timer scheduler is not running")
            due = self._monotonic() + max(0.0, delay)
            handle = TimerHandle(due, next(self._seq), target, message, self)
            heapq.heappush(self._heap, handle)
            if self._heap[0] is handle:
                self._cond.notify()
            return handle

    # --- internals ----------------------------------------------------------------------

    def _cancel(self, handle: TimerHandle) -> bool:
        with self._cond:
            if handle._cancelled or handle._fired:
                return False
            handle._cancelled = True
            self._cancelled_in_heap += 1
            # Compact when the heap is mostly dead entries, so cancel stays O(1) amortised.
            if self._cancelled_in_heap > 64 and self._cancelled_in_heap * 2 > len(self._heap):
                self._heap = [h for h in self._heap if not h._cancelled]
                heapq.heapify(self._heap)
                self._cancelled_in_heap = 0
            return True

    def _run(self) -> None:
        while True:
            due: list[TimerHandle] = []
            with self._cond:
                while self._running:
                    now = self._monotonic()
                    while self._heap and (self._heap[0]._cancelled or self._heap[0].due <= now):
                        handle = heapq.heappop(self._heap)
                        if handle._cancelled:
                            self._cancelled_in_heap -= 1
                            continue
                        handle._fired = True
                        due.append(handle)
                    if due:
                        break
                    wait = self._heap[0].due - now if self._heap else None
                    self._cond.wait(wait)
                if not self._running:
                    return
            # Tell outside the lock: a tell never blocks on an unbounded inbox, but keep the
            # lock short anyway so send_after from many actors never waits on delivery.
            for handle in due:
                try:
                    handle.target.tell(handle.message)
                except pykka.ActorDeadError:
                    logger.debug("timer %r: target gone, dropped", handle)


def poll_delays(*, first: float = 1.0, factor: float = 2.0, maximum: float = 30.0,
                minimum: float = 0.0,
                jitter: Callable[[float], float] | None = backoff.full_jitter
                ) -> Iterator[float]:
    """Delays between polls: ``first * factor**n`` capped at ``maximum``, with jitter.

    Built on ``backoff.expo`` and (by default) ``backoff.full_jitter``; ``minimum`` keeps a
    jittered delay from collapsing to zero so a poll loop never spins.
    """
    waits = backoff.expo(base=factor, factor=first, max_value=maximum)
    next(waits)  # the wait generators are primed with one next() (backoff's send protocol)
    for value in waits:
        delay = jitter(value) if jitter is not None else value
        yield max(minimum, delay)
