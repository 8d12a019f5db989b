"""Fixtures for the actor tests: a real SQLite file per test, real threads, no fixed sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pykka
import pytest

from actorvid.actors.runtime import ActorSystem
from actorvid.actors.services import RuntimeOptions
from actorvid.actors.supervision_policy import RestartIntensity
from actorvid.store.db import Database, open_database
from tests.actors.fakes import FakeProvider, SimplePipeline
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


FAST = RuntimeOptions(
    scene_concurrency=10, media_workers=2, io_workers=4,
    poll_first=0.01, poll_factor=2.0, poll_max=0.05, poll_min=0.005,
    root_intensity=RestartIntensity(3, 30.0), job_intensity=RestartIntensity(3, 30.0),
    scene_intensity=RestartIntensity(3, 30.0), shutdown_timeout=5.0,
)


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def pipeline(db: Database) -> SimplePipeline:
    return SimplePipeline(db)


@pytest.fixture
def make_system(db: Database, provider: FakeProvider, pipeline: SimplePipeline
                ) -> Iterator[Callable[..., ActorSystem]]:
    """Start an ActorSystem on the test database (stopped at teardown)."""
    systems: list[ActorSystem] = []

    def make(**overrides: Any) -> ActorSystem:
        options = replace(FAST, **overrides)
        pipelines = {t: pipeline for t in ("standard", "image_pairs", "property_video")}
        system = ActorSystem(db, provider=provider, pipelines=pipelines, options=options)
        systems.append(system.start())
        return system

    yield make
    provider.release.set()
    for event in provider.hang_get.values():
        event.set()
    for system in systems:
        assert system.stop(timeout=10)
