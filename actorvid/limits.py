"""Sharing bounded resources between tenants: concurrency slots and a fair worker pool.

:class:`ConcurrencySlots` bounds how many of something run at once, in all and per owner
(downloads streaming, URL-ingestion requests in flight); past a bound the caller gets 429 with
``Retry-After`` at once instead of queueing on a request thread.

:class:`FairPool` runs work for many owners on a few threads: owners take turns (round robin)
and none runs more than ``per_owner`` items at once, so one tenant's slow URLs wait behind its
own queue, never in front of another tenant's work.

:class:`TokenBucket` spreads work out over time (prediction creates, checks of old bcrypt keys).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from actorvid.errors import RateLimited

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ConcurrencySlots:
    """At most ``total`` holders at once, at most ``per_owner`` per owner (thread-safe)."""

    def __init__(self, total: int, per_owner: int, *, busy_message: str,
                 retry_after: float) -> None:
        self.total = total
        self.per_owner = min(per_owner, total)
        self.busy_message = busy_message
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._held: Counter[Hashable] = Counter()

    def acquire(self, owner: Hashable) -> Callable[[], None]:
        """Take a slot for ``owner``; returns its release (idempotent). Raises 429 when full."""
        with self._lock:
            if sum(self._held.values()) >= self.total or self._held[owner] >= self.per_owner:
                raise RateLimited(self.busy_message, retry_after=self.retry_after)
            self._held[owner] += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._held[owner] -= 1
                if self._held[owner] <= 0:
                    del self._held[owner]

        return release

    def in_use(self) -> int:
        with self._lock:
            return sum(self._held.values())


class FairPool:
    """Up to ``workers`` threads serving owners in turn, ``per_owner`` items each at most.

    Threads start on demand and end after ``idle_seconds`` without work, so a pool nobody
    uses costs nothing (tests build many). Cancelling a queued future drops its item.
    """

    def __init__(self, workers: int, per_owner: int, *, name: str = "fair-pool",
                 idle_seconds: float = 30.0) -> None:
        self.workers = workers
        self.per_owner = per_owner
        self.name = name
        self.idle_seconds = idle_seconds
        self._cond = threading.Condition()
        # owner -> its queued items; order is the round-robin turn order.
        self._queues: OrderedDict[Hashable, deque[tuple[Future[Any], Callable[[], Any]]]] = (
            OrderedDict())
        self._running: Counter[Hashable] = Counter()
        self._alive = 0
        self._idle = 0
        self._closed = False

    def shutdown(self) -> None:
        """Drop the queued items (their futures are cancelled); running ones finish."""
        with self._cond:
            self._closed = True
            for queue in self._queues.values():
                for future, _ in queue:
                    future.cancel()
            self._queues.clear()
            self._cond.notify_all()

    def submit(self, owner: Hashable, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is shut down")
            self._queues.setdefault(owner, deque()).append((future, fn))
            if self._idle == 0 and self._alive < self.workers:
                self._alive += 1
                threading.Thread(target=self._work, name=f"{self.name}-{self._alive}",
                                 daemon=True).start()
            self._cond.notify_all()
        return future

    def running(self, owner: Hashable) -> int:
        with self._cond:
            return self._running[owner]

    def _next(self) -> tuple[Hashable, Future[Any], Callable[[], Any]] | None:
        """The first owner in turn with queued work and a free share (lock held)."""
        for owner, queue in self._queues.items():
            if self._running[owner] >= self.per_owner:
                continue
            future, fn = queue.popleft()
            if queue:
                self._queues.move_to_end(owner)  # its next item waits for the others' turn
            else:
                del self._queues[owner]
            return owner, future, fn
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                picked = self._next()
                while picked is None:
                    if self._closed:
                        self._alive -= 1
                        return
                    self._idle += 1
                    woken = self._cond.wait(self.idle_seconds)
                    self._idle -= 1
                    picked = self._next()
                    if picked is None and not woken:
                        self._alive -= 1
                        return
                owner, future, fn = picked
                self._running[owner] += 1
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as exc:
                        future.set_exception(exc)
            finally:
                with self._cond:
                    self._running[owner] -= 1
                    if self._running[owner] <= 0:
                        del self._running[owner]
                    self._cond.notify_all()


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` saved up; starts full.

    Not locked and never sleeps: its owner holds its own lock around a call (it guards more
    state than the bucket) and decides how to wait for the seconds :meth:`take` answers.
    """

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._updated = now

    def level(self, now: float) -> float:
        """Tokens available at ``now``, without taking one."""
        return min(self.capacity, self._tokens + (now - self._updated) * self.rate)

    def take(self, now: float) -> float:
        """Take a token (returns 0) or say how many seconds until one is there."""
        self._tokens = self.level(now)
        self._updated = now
        # A hair of tolerance: refilled budget lands a float rounding short of 1.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def empty(self) -> None:
        """Spend everything saved up (a provider said 429); refilling goes on from the last
        take, as it did when this lived in the create limiter."""
        self._tokens = 0.0
