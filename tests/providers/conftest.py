"""Fixtures for provider tests: the fake servers, an in-memory blob source, fast clients."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actorvid.providers.base import TERMINAL_STATUSES, ImageInput, Prediction
from actorvid.providers.replicate import ReplicateClient
from tests.fakes.replicate import FakeReplicate

# The fake servers' fixtures come from tests/conftest.py (pytest_plugins).



class Blobs:
    """Stands in for the blob store: ``read_blob(blob_id)`` yields pieces of stored bytes."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.reads: list[str] = []
        self._ids = itertools.count(1)

    def add(self, data: bytes, content_type: str = "image/png", asset_id: str = "") -> ImageInput:
        blob_id = f"blob-{next(self._ids)}"
        self.data[blob_id] = data
        return ImageInput(asset_id=asset_id or f"asset-{blob_id}", content_type=content_type,
                          size=len(data), blob_id=blob_id)

    def add_file(self, path: Path, content_type: str = "image/png",
                 asset_id: str = "") -> ImageInput:
        return self.add(path.read_bytes(), content_type, asset_id)

    def read(self, blob_id: str) -> Iterator[bytes]:
        self.reads.append(blob_id)
        data = self.data[blob_id]
        for start in range(0, len(data), 64 * 1024):
            yield data[start:start + 64 * 1024]


@pytest.fixture
def blobs() -> Blobs:
    return Blobs()


@pytest.fixture
def make_client(fake_replicate: FakeReplicate) -> Callable[..., ReplicateClient]:  # noqa: F811
    def make(**kwargs: object) -> ReplicateClient:
        options: dict[str, object] = {"create_timeout": 5.0,
                                      "timeout": 5.0, "cancel_after": "30m"}
        options.update(kwargs)
        return ReplicateClient(fake_replicate.api_url, fake_replicate.token,
                               **options)  # type: ignore[arg-type]
    return make


def wait_terminal(get: Callable[[str], Prediction], prediction_id: str,
                  timeout: float = 15.0) -> tuple[Prediction, list[str]]:
    """Poll until terminal (with a deadline); returns the final prediction and statuses seen."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        pred = get(prediction_id)
        if not seen or seen[-1] != pred.status:
            seen.append(pred.status)
        if pred.status in TERMINAL_STATUSES:
            return pred, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"prediction {prediction_id} still {pred.status}")
        time.sleep(0.01)  # a poll interval, not a settle-wait: the loop ends on a condition
