"""One limiter for every prediction create of the process, shared by all jobs.

A token bucket (``per_minute`` with a small burst) spreads creates out instead of firing a
job's ten scenes in one burst, and a 429 from the provider pauses *all* creates until its
``retry_after`` has passed. It never sleeps: :meth:`reserve` answers how long the caller must
wait, and the SceneActor turns that into a timer message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from actorvid.limits import TokenBucket


class CreateLimiter:
    def __init__(self, per_minute: int, *, burst: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock
        self._bucket = TokenBucket(self.rate, float(self.burst), clock())
        self._paused_until = 0.0
        self.pauses = 0  # 429 pauses so far (for the metrics)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token now (returns 0) or say how many seconds to wait before asking again."""
        with self._lock:
            now = self.clock()
            if now < self._paused_until:
                return self._paused_until - now
            return self._bucket.take(now)

    def pause(self, seconds: float) -> None:
        """The provider said 429: nobody creates for ``seconds``."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + max(0.0, seconds))
            self._bucket.empty()
            self.pauses += 1

    def state(self) -> tuple[float, float]:
        """(tokens available now, seconds of pause left), without taking a token."""
        with self._lock:
            now = self.clock()
            return self._bucket.level(now), max(0.0, self._paused_until - now)
