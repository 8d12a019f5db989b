"""The actor runtime the app starts once per process: :class:`ActorSystem`.

Usage (``create_app``/``actorvid serve``)::

    system = ActorSystem(db, provider=provider, pipelines={"standard": StandardPipeline(...)},
                         options=RuntimeOptions.from_settings(settings)).start()
    restore = install_signal_handlers(system, on_stopped=server.close)
    system.coordinator.start_job(job_id)      # after the API wrote the job row
    system.coordinator.approve(job_id)
    system.coordinator.cancel(job_id)
    system.snapshot(timeout=0.2)              # the debug tree
    system.stop(timeout=10)                   # leaf-first; every job stays resumable

Start order: timer scheduler, pools, then the tree (root → Coordinator, which recovers jobs).
Stop order is the reverse: the tree leaf-first within a deadline (survivors logged as bugs),
then pools and scheduler. One system per database file per process: a second ``start`` of the
same system is a no-op, and a second system on the same file refuses to start (two trees over one
file would create every prediction twice). :func:`start_system` returns the running one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pykka
import pykka.debug

from actorvid.actors import snapshot as snapshots
from actorvid.actors.coordinator import RootSupervisor
from actorvid.actors.messages import (
    ApproveJob,
    CancelJob,
    PokeScene,
    RefreshPreview,
    RenderDraft,
    StartJob,
)
from actorvid.actors.pipeline import JobPipeline
from actorvid.actors.pools import WorkPool
from actorvid.actors.ratelimit import CreateLimiter
from actorvid.actors.services import RuntimeOptions, Services
from actorvid.actors.supervision import SupervisedActor
from actorvid.actors.timers import Scheduler
from actorvid.errors import Conflict, ServiceUnavailable
from actorvid.metrics import NO_METRICS, PredictionEvents
from actorvid.providers.base import PredictionService
from actorvid.serving import install_stop_signals
from actorvid.store.db import Database

logger = logging.getLogger(__name__)

# How long the API waits for the Coordinator to answer an approve or cancel.
ASK_TIMEOUT = 10.0

_RUNNING: dict[str, ActorSystem] = {}
_RUNNING_LOCK = threading.Lock()


class AlreadyRunning(RuntimeError):
    """Another ActorSystem of this process already runs on the same database file."""


def _key(path: Path) -> str:
    return str(path.resolve()) if str(path) != ":memory:" else f":memory:{id(path)}"


class CoordinatorHandle:
    """The narrow interface of the tree for the HTTP layer.

    ``start_job`` and ``poke_scene`` tell the root, which forwards to the current Coordinator
    (and keeps commands across a Coordinator restart). ``approve`` and ``cancel`` ask the
    Coordinator, which writes the transition (it is their one writer), with a timeout, and
    raise its refusal (:class:`Conflict`) or :class:`ServiceUnavailable`.
    """

    def __init__(self, root: pykka.ActorRef[Any], *, timeout: float = ASK_TIMEOUT) -> None:
        self._root = root
        self._timeout = timeout

    def tell(self, message: StartJob | PokeScene | RefreshPreview | RenderDraft) -> None:
        try:
            self._root.tell(message)
        except pykka.ActorDeadError:
            raise ServiceUnavailable("Video processing is not running on this server") from None

    def start_job(self, job_id: int) -> None:
        """Tell the tree a job row was written; :class:`ServiceUnavailable` if it is down."""
        self.tell(StartJob(job_id))

    def _ask(self, message: ApproveJob | CancelJob) -> None:
        try:
            coordinator: pykka.ActorRef[Any] | None = self._root.ask(
                "coordinator_ref", timeout=self._timeout)  # type: ignore[assignment]
            if coordinator is None:
                raise pykka.ActorDeadError("the coordinator is restarting")
            refusal = coordinator.ask(message, timeout=self._timeout)
        except (pykka.ActorDeadError, pykka.Timeout):
            raise ServiceUnavailable("Video processing is busy or restarting; try again "
                                     "in a moment") from None
        if isinstance(refusal, Conflict):
            raise refusal

    def approve(self, job_id: int) -> None:
        self._ask(ApproveJob(job_id))

    def cancel(self, job_id: int) -> None:
        self._ask(CancelJob(job_id))

    def refresh_preview(self, job_id: int) -> None:
        """The job's storyboard changed: its preview follows (a hint; a restart looks again)."""
        with contextlib.suppress(ServiceUnavailable):
            self.tell(RefreshPreview(job_id))

    def render_draft(self, preview_id: str) -> None:
        """A dry-run preview row was written: render it."""
        self.tell(RenderDraft(preview_id))

    def poke_scene(self, job_id: int, sub_job_id: str, provider_id: str) -> None:
        """A webhook hint: the scene polls its prediction now instead of at its next timer."""
        with contextlib.suppress(ServiceUnavailable):  # a hint: polling finds it anyway
            self.tell(PokeScene(job_id, sub_job_id, provider_id))


class ActorSystem:
    def __init__(self, db: Database, *, provider: PredictionService,
                 pipelines: Mapping[str, JobPipeline],
                 options: RuntimeOptions | None = None,
                 music: PredictionService | None = None,
                 metrics: PredictionEvents = NO_METRICS, previews: Any = None) -> None:
        self.db = db
        self.metrics = metrics
        self.provider = provider
        self.music = music or provider
        self.pipelines = dict(pipelines)
        self.options = options or RuntimeOptions()
        self.previews = previews  # an actors.preview.PreviewRenderer, or None
        self._lock = threading.Lock()
        self._root: pykka.ActorRef[Any] | None = None
        self._services: Services | None = None
        self._stopped = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> ActorSystem:
        with _RUNNING_LOCK, self._lock:
            if self._root is not None:
                return self
            key = _key(self.db.path)
            other = _RUNNING.get(key)
            if other is not None and other is not self:
                raise AlreadyRunning(f"an actor system already runs on {self.db.path}")
            opts = self.options
            scheduler = Scheduler().start()
            services = Services(
                db=self.db, providers={"clip": self.provider, "music": self.music},
                pipelines=self.pipelines,
                scheduler=scheduler,
                # Twice as many threads as ffmpeg slots (MediaSlots holds ffmpeg children to
                # media_workers): a step spends part of its time copying blobs in and out of
                # SQLite, and meanwhile another step's ffmpeg can use the slot.
                media_pool=WorkPool("actorvid-media", 2 * opts.media_workers),
                io_pool=WorkPool("actorvid-io", opts.io_workers,
                                 per_owner=max(1, opts.io_workers // 2)), options=opts,
                limiter=CreateLimiter(opts.creates_per_minute, burst=opts.create_burst),
                metrics=self.metrics, previews=self.previews,
                # One worker: previews take turns, and their ffmpeg children queue behind
                # every finish step for the media slots anyway.
                preview_pool=WorkPool("actorvid-preview", 1),
                clip_stores=threading.BoundedSemaphore(max(1, opts.clip_stores)))
            self._services = services
            self._stopped.clear()
            self._root = RootSupervisor.start(services)
            _RUNNING[key] = self
            logger.info("actor system started on %s", self.db.path)
        return self

    @property
    def limiter(self) -> CreateLimiter | None:
        """The create limiter of the running tree (for the metrics), else None."""
        services = self._services
        return services.limiter if services is not None and self.running else None

    @property
    def running(self) -> bool:
        return self._root is not None and self._root.is_alive()

    @property
    def root(self) -> pykka.ActorRef[Any]:
        if self._root is None:
            raise RuntimeError("the actor system is not started")
        return self._root

    @property
    def coordinator(self) -> CoordinatorHandle:
        return CoordinatorHandle(self.root)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the tree leaf-first, then the pools and timers. True if nothing survived."""
        with self._lock:
            root, services = self._root, self._services
            self._root = None
        if root is None or services is None:
            self._stopped.set()
            return True
        timeout = timeout if timeout is not None else self.options.shutdown_timeout
        logger.info("actor system on %s stopping (deadline %.1fs)", self.db.path, timeout)
        try:
            root.stop(block=True, timeout=timeout)
        except pykka.Timeout:
            logger.error("bug: the root supervisor did not stop within %.1fs", timeout)
        # Which registered actors are this system's: pykka's registry is per process (tests
        # run several systems at once) and has no public link from a ref to its actor, and
        # asking a survivor would wait on it; the ref's weak reference never waits.
        survivors = [ref for ref in pykka.ActorRegistry.get_all()
                     if getattr(ref._actor_weakref(), "services", None) is services]  # noqa: SLF001
        for ref in survivors:
            logger.error("bug: %s survived the shutdown of %s", ref, self.db.path)
        services.io_pool.shutdown()
        services.media_pool.shutdown()
        if services.preview_pool is not None:
            services.preview_pool.shutdown()
        services.scheduler.stop()
        with _RUNNING_LOCK:
            if _RUNNING.get(_key(self.db.path)) is self:
                del _RUNNING[_key(self.db.path)]
        self._stopped.set()
        logger.info("actor system on %s stopped (%d survivors)", self.db.path, len(survivors))
        return not survivors

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    # --- queries ------------------------------------------------------------------------

    def snapshot(self, timeout: float = 0.2, ask_timeout: float = 0.05) -> dict[str, Any]:
        """The live tree (see :mod:`actorvid.actors.snapshot`); answers within ``timeout``."""
        root = self._root
        if root is None:
            return {"kind": "root", "running": False, "children": []}
        return snapshots.gather(root, timeout=timeout, ask_timeout=ask_timeout)


def start_system(db: Database, **kwargs: Any) -> ActorSystem:
    """The system running on ``db``'s file in this process, or a new one started now."""
    with _RUNNING_LOCK:
        existing = _RUNNING.get(_key(db.path))
    if existing is not None:
        return existing
    return ActorSystem(db, **kwargs).start()


def install_signal_handlers(system: ActorSystem, *,
                            on_stopped: Callable[[], None] | None = None,
                            timeout: float | None = None) -> Callable[[], None]:
    """SIGTERM/SIGINT stop the system (then call ``on_stopped``, e.g. the server's close);
    SIGUSR1 logs every thread's traceback. Call from the main thread; returns a restorer.

    The handler only starts a shutdown thread: stopping joins actor threads, which must not
    happen inside a signal handler on the main thread that may be serving requests.
    """
    started = threading.Event()

    def shutdown() -> None:
        try:
            system.stop(timeout)
        finally:
            if on_stopped is not None:
                on_stopped()

    def on_signal(signum: int, _frame: Any) -> None:
        if started.is_set():
            return
        started.set()
        logger.info("signal %d: stopping the actor system", signum)
        threading.Thread(target=shutdown, name="actorvid-shutdown").start()

    return install_stop_signals(on_signal)


__all__ = ["ActorSystem", "AlreadyRunning", "CoordinatorHandle", "RuntimeOptions",
           "SupervisedActor", "install_signal_handlers", "start_system"]
