"""Where the offline providers keep their predictions: the record, the store's protocol, and
the in-memory store (the server's is SQLite: ``store/local_predictions.py``, so an id survives
a restart)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol


class PredictionRecord(Protocol):
    """A local prediction as it is kept between restarts: what to make, and how it went."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...  # "video" or "music"
    @property
    def tag(self) -> str: ...
    @property
    def input(self) -> dict[str, Any]: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def has_output(self) -> bool: ...


@dataclass(frozen=True)
class LocalRecord:
    """The in-memory :class:`PredictionRecord`."""

    id: str
    kind: str
    tag: str
    input: dict[str, Any]
    status: str
    created_at: str
    error: str | None = None
    has_output: bool = False
    completed_at: str | None = None


class LocalPredictionStore(Protocol):
    """Where local predictions live, so they outlive the process (``store.local_predictions``
    keeps them in the database; :class:`InMemoryPredictions` for a provider used alone)."""

    def insert(self, *, id: str, kind: str, tag: str, input: dict[str, Any],
               created_at: str) -> None:
        """Keep a new prediction (status ``starting``)."""

    def get(self, prediction_id: str) -> PredictionRecord | None: ...

    def by_tag(self, tag: str) -> PredictionRecord | None: ...

    def set_status(self, prediction_id: str, status: str, *, error: str | None = None,
                   output: Path | None = None, completed_at: str | None = None) -> None:
        """Move a prediction on; ``output`` (a file) is kept as its result."""

    def open_output(self, prediction_id: str) -> Iterator[bytes]: ...

    def drop_outputs(self, kind: str, completed_before: str) -> int:
        """Forget the outputs of predictions finished before ``completed_before`` (retention)."""


class InMemoryPredictions:
    """A :class:`LocalPredictionStore` in this process's memory (outputs as files)."""

    def __init__(self) -> None:
        self._records: dict[str, LocalRecord] = {}
        self._outputs: dict[str, Path] = {}
        self._lock = threading.Lock()

    def insert(self, *, id: str, kind: str, tag: str, input: dict[str, Any],
               created_at: str) -> None:
        with self._lock:
            self._records[id] = LocalRecord(id, kind, tag, input, "starting", created_at)

    def get(self, prediction_id: str) -> LocalRecord | None:
        with self._lock:
            return self._records.get(prediction_id)

    def by_tag(self, tag: str) -> LocalRecord | None:
        with self._lock:
            return next((r for r in self._records.values() if r.tag == tag), None)

    def set_status(self, prediction_id: str, status: str, *, error: str | None = None,
                   output: Path | None = None, completed_at: str | None = None) -> None:
        kept = None
        if output is not None:
            fd, name = tempfile.mkstemp(prefix="actorvid-local-out-")
            os.close(fd)
            kept = Path(shutil.copyfile(output, name))
        with self._lock:
            record = self._records[prediction_id]
            self._records[prediction_id] = replace(
                record, status=status, error=error,
                has_output=record.has_output or kept is not None, completed_at=completed_at)
            if kept is not None:
                self._outputs[prediction_id] = kept

    def open_output(self, prediction_id: str) -> Iterator[bytes]:
        with self._lock:
            path = self._outputs.get(prediction_id)
        if path is None:
            return iter(())
        return read_pieces(path)

    def drop_outputs(self, kind: str, completed_before: str) -> int:
        dropped = 0
        with self._lock:
            for record in list(self._records.values()):
                if (record.kind == kind and record.has_output and record.completed_at
                        and record.completed_at < completed_before):
                    self._records[record.id] = replace(record, has_output=False)
                    path = self._outputs.pop(record.id, None)
                    if path is not None:
                        path.unlink(missing_ok=True)
                    dropped += 1
        return dropped

    def close(self) -> None:
        with self._lock:
            for path in self._outputs.values():
                path.unlink(missing_ok=True)
            self._outputs.clear()


PIECE = 256 * 1024


def read_pieces(path: Path) -> Iterator[bytes]:
    """A stored output file in pieces (never whole in memory)."""
    with path.open("rb") as src:
        while piece := src.read(PIECE):
            yield piece
