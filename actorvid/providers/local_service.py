"""The machinery the offline providers share: a :class:`PredictionService` over ffmpeg.

``create`` stores the prediction (:class:`LocalPredictionStore`: SQLite in the server, so an
id survives a restart, in memory in tests) and queues its ffmpeg run on a bounded pool; ``get``
reports it, ``cancel`` kills the ffmpeg child, ``download`` streams the stored output. The
renderer and the music maker (``providers/local.py``) only say what to make.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from actorvid import tempspace
from actorvid.clock import isoformat_z, now_iso, utc_now
from actorvid.domain.predictions import LocalPrediction
from actorvid.errors import MediaError, ProviderError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.providers.base import (
    ImageInput,
    MusicInput,
    OutputExpired,
    Prediction,
    PredictionStatus,
    ReadBlob,
    RenderInput,
    inputs_to_dict,
)
from actorvid.providers.local_store import InMemoryPredictions, LocalPredictionStore

logger = logging.getLogger(__name__)

_EXT = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "image/webp": ".webp",
        "image/gif": ".gif", "audio/mpeg": ".mp3", "audio/wav": ".wav"}


@dataclass
class _Run:
    """A prediction being worked on by this process (absent after a restart)."""

    cancel_requested: bool = False
    process: subprocess.Popen[bytes] | None = None


class LocalPredictionService:
    """ffmpeg work on a bounded pool behind the PredictionService shape.

    Predictions are kept in a :class:`LocalPredictionStore`, so after a restart a stored id is
    still known: one that had not finished is simply run again (its inputs are stored), the way
    Replicate keeps working on a prediction while we are down. A finished prediction tells
    ``on_change`` at once (the local equivalent of a webhook), so its scene need not wait for
    its next poll.
    """

    name = "local"
    kind = "video"
    suffix = ".bin"

    def __init__(self, read_blob: ReadBlob, *, ffmpeg: FFmpeg | None = None, workers: int = 2,
                 workdir: Path | None = None, timeout: float = 600.0,
                 retention: float = 3600.0, store: LocalPredictionStore | None = None,
                 on_change: Callable[[str], None] | None = None) -> None:
        self._read_blob = read_blob
        self._ffmpeg = ffmpeg or FFmpeg.locate()
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix=f"local-{type(self).__name__}")
        self._workdir = workdir
        self._timeout = timeout
        self._retention = retention  # like Replicate: outputs are removed after a while
        self._owned_store = store is None
        self._store: LocalPredictionStore = store if store is not None else InMemoryPredictions()
        self.on_change = on_change
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._closed = False

    # --- the interface ---------------------------------------------------------------------

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        self._check_inputs(inputs)
        if self._closed:
            raise ProviderError("The local provider is shut down", retryable=False)
        cutoff = isoformat_z(utc_now() - timedelta(seconds=self._retention))
        self._store.drop_outputs(self.kind, cutoff)
        prediction_id = uuid.uuid4().hex[:26]
        self._store.insert(id=prediction_id, kind=self.kind, tag=tag,
                           input=inputs_to_dict(inputs), created_at=now_iso())
        self._start(prediction_id)
        logger.info("local %s prediction %s queued for tag %s", self.name, prediction_id, tag)
        return self.get(prediction_id)

    def find(self, tag: str, inputs: RenderInput | MusicInput | None = None,
             since: object = None) -> Prediction | None:
        record = self._store.by_tag(tag)
        return self.get(record.id) if record is not None else None

    def get(self, prediction_id: str) -> Prediction:
        record = self._store.get(prediction_id)
        if record is None or record.kind != self.kind:
            raise ProviderError(f"Unknown local prediction {prediction_id}", status=404)
        if record.status in ("starting", "processing") and not self._closed:
            with self._lock:
                orphaned = prediction_id not in self._runs
            if orphaned:
                # The process that ran it stopped: run it again from its stored inputs.
                logger.info("local %s prediction %s resumed after a restart", self.name,
                            prediction_id)
                self._store.set_status(prediction_id, "starting")
                self._start(prediction_id)
        return self._view(record)

    def cancel(self, prediction_id: str) -> Prediction:
        record = self._store.get(prediction_id)
        if record is None or record.kind != self.kind:
            raise ProviderError(f"Unknown local prediction {prediction_id}", status=404)
        with self._lock:
            run = self._runs.get(prediction_id)
            if run is not None:
                run.cancel_requested = True
                if run.process is not None:
                    run.process.kill()  # _run sees cancel_requested and reports canceled
        if record.status == "starting" or (run is None and record.status == "processing"):
            # Not running here (queued, or its process stopped): cancelled right now.
            self._store.set_status(prediction_id, "canceled", completed_at=now_iso())
        current = self._store.get(prediction_id)
        return self._view(current or record)

    def download(self, prediction: Prediction, dest: BinaryIO) -> int:
        record = self._store.get(prediction.id)
        if record is None or record.status != "succeeded":
            raise ProviderError(f"Prediction {prediction.id} has no output")
        if not record.has_output:
            raise OutputExpired(f"The output of local prediction {prediction.id} has expired")
        written = 0
        for piece in self._store.open_output(prediction.id):
            dest.write(piece)
            written += len(piece)
        return written

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        return 0.0

    def close(self) -> None:
        """Kill running work and stop the pool; stored predictions stay for the next start."""
        with self._lock:
            self._closed = True
            for run in self._runs.values():
                run.cancel_requested = True
                if run.process is not None:
                    run.process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._owned_store and isinstance(self._store, InMemoryPredictions):
            self._store.close()

    # --- work ------------------------------------------------------------------------------

    def _check_inputs(self, inputs: RenderInput | MusicInput) -> None:
        raise NotImplementedError

    def _inputs(self, data: dict[str, Any]) -> RenderInput | MusicInput:
        raise NotImplementedError

    def _args(self, inputs: RenderInput | MusicInput, workdir: Path, out: Path) -> list[str]:
        raise NotImplementedError

    def _start(self, prediction_id: str) -> None:
        with self._lock:
            if prediction_id in self._runs:
                return
            self._runs[prediction_id] = _Run()
        try:
            self._pool.submit(self._run, prediction_id)
        except RuntimeError:  # the pool is shut down: leave it for the next start
            with self._lock:
                self._runs.pop(prediction_id, None)

    def _make_workdir(self, prediction_id: str) -> Path:
        prefix = f"actorvid-local-{prediction_id}-"
        if self._workdir is not None:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=self._workdir))
        return tempspace.make_dir(prefix)

    def _run(self, prediction_id: str) -> None:
        with self._lock:
            run = self._runs[prediction_id]
        record = self._store.get(prediction_id)
        status = "failed"
        error: str | None = None
        output: Path | None = None
        workdir: Path | None = None
        try:
            if record is None or run.cancel_requested or self._closed:
                status = "canceled"
                return
            if (current := self._store.get(prediction_id)) and current.status == "canceled":
                status = "canceled"
                return
            self._store.set_status(prediction_id, "processing")
            workdir = self._make_workdir(prediction_id)
            out = workdir / f"output{self.suffix}"
            args = self._args(self._inputs(record.input), workdir, out)

            def started(proc: subprocess.Popen[bytes]) -> None:
                with self._lock:
                    run.process = proc
                    if run.cancel_requested:
                        proc.kill()

            try:
                self._ffmpeg.run(["-loglevel", "error", *args], timeout=self._timeout,
                                 on_process=started)
            except MediaError:
                if run.cancel_requested:
                    raise _Canceled from None
                raise
            if run.cancel_requested:
                raise _Canceled
            status, output = "succeeded", out
        except _Canceled:
            status = "canceled"
        except (MediaError, ProviderError, OSError, ValueError) as exc:
            tail = getattr(exc, "stderr_tail", "")
            logger.warning("local %s prediction %s failed: %s %s", self.name, prediction_id,
                           exc, tail[-300:])
            error = getattr(exc, "message", None) or str(exc)
        except Exception as exc:  # a worker must always leave a terminal status behind
            logger.exception("local %s prediction %s crashed", self.name, prediction_id)
            error = f"internal error ({type(exc).__name__})"
        finally:
            if self._closed and status != "succeeded":
                # Shutting down: leave it unfinished, so the next start runs it again.
                with self._lock:
                    self._runs.pop(prediction_id, None)
            else:
                self._finish(prediction_id, status, error=error, output=output)
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)

    def _finish(self, prediction_id: str, status: str, *, error: str | None,
                output: Path | None) -> None:
        try:
            self._store.set_status(prediction_id, status, error=error, output=output,
                                   completed_at=now_iso())
        finally:
            with self._lock:
                self._runs.pop(prediction_id, None)
        logger.info("local %s prediction %s %s", self.name, prediction_id, status)
        if self.on_change is not None:
            try:
                self.on_change(prediction_id)
            except Exception:  # a hint only: polling still finds the result
                logger.exception("local %s: change notice for %s failed", self.name,
                                 prediction_id)

    def _materialize(self, ref: ImageInput, workdir: Path, stem: str) -> Path:
        path = workdir / (stem + _EXT.get(ref.content_type, ".bin"))
        with path.open("wb") as out:
            for piece in self._read_blob(ref.blob_id):
                out.write(piece)
        return path

    def _view(self, record: LocalPrediction) -> Prediction:
        current = self._store.get(record.id) or record
        status: PredictionStatus = current.status  # type: ignore[assignment]
        succeeded = status == "succeeded"
        output = f"local:{current.id}" if succeeded and current.has_output else None
        return Prediction(id=current.id, status=status, output=output,
                          error=current.error,
                          data_removed=succeeded and not current.has_output,
                          model=self.name, created_at=current.created_at)


class _Canceled(Exception):
    pass
