"""The fake's journal: every request it saw, and the counts tests assert on (what was sent,
what was created and so paid for, how many ran at once)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from tests.fakes.replicate.predictions import TERMINAL, FakePrediction


class Journal:
    """Every request the fake saw, plus derived counts the tests assert on."""

    def __init__(self, predictions: Callable[[], list[FakePrediction]]) -> None:
        self._predictions = predictions  # every prediction the fake created, in any state
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.entries if route is None or e["route"] == route]

    @property
    def create_requests(self) -> int:
        return len(self.requests("create"))

    @property
    def creates(self) -> int:
        """Predictions actually created (what would be paid for)."""
        return len(self._predictions())

    def inputs(self, model: str | None = None) -> list[dict[str, Any]]:
        """The input of every prediction the fake accepted (``model``: ``owner/name``);
        inputs it refused with a 422 never become predictions."""
        return [p.input for p in self._predictions()
                if model is None or p.model == model]

    def max_in_flight(self, prefix: str = "") -> int:
        """Most predictions with a tag starting with ``prefix`` running at one moment."""
        points: list[tuple[float, int]] = []
        for pred in self._predictions():
            if not pred.tag.startswith(prefix):
                continue
            end = pred.completed if pred.completed is not None else math.inf
            points += [(pred.created, 1), (end, -1)]
        best = running = 0
        for _, delta in sorted(points, key=lambda p: (p[0], p[1])):
            running += delta
            best = max(best, running)
        return best

    def in_flight(self, prefix: str = "") -> int:
        return sum(1 for p in self._predictions()
                   if p.tag.startswith(prefix) and p.status not in TERMINAL)
