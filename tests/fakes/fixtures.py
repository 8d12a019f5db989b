"""pytest fixtures for the fake servers; load with ``pytest_plugins = ["tests.fakes.fixtures"]``.

Each fixture starts its own server on an ephemeral loopback port and stops it afterwards, so
tests never share fake state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.replicate import FakeReplicate
from tests.fakes.xai import FakeXAI


@pytest.fixture
def fake_replicate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeReplicate]:
    fake = FakeReplicate(workdir=tmp_path_factory.mktemp("fake-replicate")).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_xai() -> Iterator[FakeXAI]:
    fake = FakeXAI().start()
    try:
        yield fake
    finally:
        fake.stop()
