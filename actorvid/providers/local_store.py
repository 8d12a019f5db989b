"""Where the offline providers keep their predictions (each a
:class:`~actorvid.domain.predictions.LocalPrediction`): the store's protocol, and the in-memory
store (the server's is SQLite: ``store/local_predictions.py``, so an id survives a restart)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from actorvid.domain.predictions import LocalPrediction


class LocalPredictionStore(Protocol):
    """Where local predictions live, so they outlive the process (``store.local_predictions``
    keeps them in the database; :class:`InMemoryPredictions` for a provider used alone)."""

    def insert(self, *, id: str, kind: str, tag: str, input: dict[str, Any],
               created_at: str) -> None:
        """Keep a new prediction (status ``starting``)."""

    def get(self, prediction_id: str) -> LocalPrediction | None: ...

    def by_tag(self, tag: str) -> LocalPrediction | None: ...

    def set_status(self, prediction_id: str, status: str, *, error: str | None = None,
                   output: Path | None = None, completed_at: str | None = None) -> None:
        """Move a prediction on; ``output`` (a file) is kept as its result."""

    def open_output(self, prediction_id: str) -> Iterator[bytes]: ...

    def drop_outputs(self, kind: str, completed_before: str) -> int:
        """Forget the outputs of predictions finished before ``completed_before`` (retention)."""


class InMemoryPredictions:
    """A :class:`LocalPredictionStore` in this process's memory (outputs as files)."""

    def __init__(self) -> None:
        self._records: dict[str, LocalPrediction] = {}
        self._outputs: dict[str, Path] = {}
        self._lock = threading.Lock()

    def insert(self, *, id: str, kind: str, tag: str, input: dict[str, Any],
               created_at: str) -> None:
        with self._lock:
            self._records[id] = LocalPrediction(id, kind, tag, input, "starting", created_at)

    def get(self, prediction_id: str) -> LocalPrediction | None:
        with self._lock:
            return self._records.get(prediction_id)

    def by_tag(self, tag: str) -> LocalPrediction | None:
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
