"""Bounded thread pools for work that must not block a mailbox; results come back by message.

An actor hands a slow function (ffmpeg, an LLM call) to a pool and returns to its mailbox; the
pool tells it :class:`~actorvid.actors.messages.WorkDone` when the function ends. The pools are
fair between owners (tenants): owners take turns and one owner holds at most ``per_owner``
workers, so four slow property jobs of one tenant never hold every I/O worker while another
tenant's storyboard waits. The media pool is sized by ``Settings.media_workers``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Hashable
from typing import Any

import pykka

from actorvid.actors.messages import WorkDone
from actorvid.actors.pipeline import StepError
from actorvid.limits import FairPool

logger = logging.getLogger(__name__)


class WorkPool:
    def __init__(self, name: str, workers: int, *, per_owner: int | None = None) -> None:
        self.name = name
        self.workers = workers
        self._pool = FairPool(workers, per_owner or workers, name=name)
        self._tokens = itertools.count(1)

    def submit(self, reply_to: pykka.ActorRef[Any], step: str, fn: Callable[..., Any],
               *args: Any, owner: Hashable = None) -> int:
        """Run ``fn(*args)`` on the pool (in ``owner``'s turn); tell ``reply_to``
        ``WorkDone(step, token, ...)``."""
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

        self._pool.submit(owner, run)
        return token

    def shutdown(self) -> None:
        self._pool.shutdown()
