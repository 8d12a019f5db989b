"""Fixtures for the actor tests: a real SQLite file per test, real threads, no fixed sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest

from actorvid.store.db import Database, open_database
from tests.actors.helpers import make_user


@pytest.fixture(autouse=True)
def no_actor_left() -> Iterator[None]:
    """Every test starts and ends with an empty actor registry."""
    assert pykka.ActorRegistry.get_all() == [], "actors left over from an earlier test"
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=10)
    assert pykka.ActorRegistry.get_all() == []


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "actors.db", read_pool_size=4)
    yield database
    database.close()


@pytest.fixture
def user_id(db: Database) -> int:
    return make_user(db)
