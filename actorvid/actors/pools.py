"""Bounded thread pools for work that must not block a mailbox; results come back by message.

An actor hands a slow function (ffmpeg, an LLM call) to a pool and returns to its mailbox; the
pool tells it :class:`~actorvid.actors.messages.WorkDone` when the function ends. The media pool
is sized by ``Settings.media_workers`` so fifty stitches never start at once on two cores.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pykka

from actorvid.actors.messages import WorkDone
from actorvid.actors.workflow import StepError

logger = logging.getLogger(__name__)


class WorkPool:
    def __init__(self, name: str, workers: int) -> None:
        self.name = name
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._tokens = itertools.count(1)

    def submit(self, reply_to: pykka.ActorRef[Any], step: str, fn: Callable[..., Any],
               *args: Any) -> int:
        """Run ``fn(*args)`` on the pool; tell ``reply_to`` ``WorkDone(step, token, ...)``."""
        token = next(self._tokens)

        def run() -> None:
            try:
                value = fn(*args)
            except StepError as exc:
                logger.warning("%s: step %s (token %d for %s) failed: %s", self.name, step,
                               token, reply_to, exc)
                done = WorkDone(step, token, None, str(exc), final=True)
            except Exception as exc:
                logger.exception("%s: step %s (token %d for %s) failed", self.name, step, token,
                                 reply_to)
                done = WorkDone(step, token, None, f"{type(exc).__name__}: {exc}")
            else:
                done = WorkDone(step, token, value, None)
            try:
                reply_to.tell(done)
            except pykka.ActorDeadError:
                # The actor stopped or was replaced; its successor re-runs the step from SQLite.
                logger.info("%s: step %s (token %d) done after %s stopped; dropped", self.name,
                            step, token, reply_to)

        self._executor.submit(run)
        return token

    def shutdown(self, *, wait: bool = False) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
