"""Fixtures for the actor tests: a real SQLite file per test, real threads, no fixed sleeps."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pykka
import pytest


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, *,
               interval: float = 0.005, message: str = "condition") -> object:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes (then fail the test)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        # Not a settle-sleep: a short poll interval while waiting on a deadline.
        threading.Event().wait(interval)


@pytest.fixture(autouse=True)
def no_actor_left() -> Iterator[None]:
    """Every test starts and ends with an empty actor registry."""
    assert pykka.ActorRegistry.get_all() == [], "actors left over from an earlier test"
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=10)
    assert pykka.ActorRegistry.get_all() == []
