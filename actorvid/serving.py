"""Serving the app on waitress: settings shared by ``actorvid serve``, the demo and tests."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pykka.debug
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import WSGITask

logger = logging.getLogger(__name__)

# waitress buffers up to this much of a response per connection before pausing the app;
# its 16 MiB default makes four parallel 100 MiB downloads cost ~76 MiB of RSS.
OUTBUF_HIGH_WATERMARK = 1024 * 1024

# How much waitress asks of a socket per read. Its default, 8 KiB, made receiving a 50 MiB
# upload take ~160 ms of its one I/O thread (6,400 passes of its loop); 256 KiB takes ~40 ms
# (64 KiB ~49, 1 MiB ~89: bench/assets_memory.py's floor). A read allocates at most this
# much, only while bytes are waiting.
RECV_BYTES = 256 * 1024

# ``actorvid serve``'s defaults (docs/operations.md says how to choose them). A request waits
# for a thread when more are in flight than there are threads; 16 threads cover the stream
# slots (ACTORVID_MAX_STREAMS, 4) with room for a dozen concurrent JSON requests.
DEFAULT_THREADS = 16
DEFAULT_CONNECTION_LIMIT = 100

# At most one "Task queue depth" line per this many seconds (with a count of the rest).
QUEUE_WARNING_INTERVAL = 60.0


class QueueWarningSampler(logging.Filter):
    """Let one of waitress's "Task queue depth is N" warnings through per ``interval``.

    waitress logs that line for every request that finds no idle thread: a busy server wrote
    one per request (79,933 lines in a 10 s benchmark), which costs CPU and drowns the log.
    A queue that forms now and then is normal; the line that passes says how many were
    held back since the last one and the deepest queue seen, which is what an operator
    sizing ``--threads`` needs.
    """

    def __init__(self, interval: float = QUEUE_WARNING_INTERVAL,
                 monotonic: Any = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_at: float | None = None
        self._held = 0
        self._deepest = 0

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        depth = int(args[0]) if args and isinstance(args[0], int) else 0
        with self._lock:
            self._deepest = max(self._deepest, depth)
            now = self._monotonic()
            if self._next_at is not None and now < self._next_at:
                self._held += 1
                return False
            held, deepest = self._held, self._deepest
            self._next_at, self._held, self._deepest = now + self.interval, 0, 0
        record.msg = ("Task queue depth is %d (%d more such warnings in the last %.0f s, "
                      "deepest %d): requests wait for a thread; see --threads in "
                      "docs/operations.md")
        record.args = (depth, held, self.interval, deepest)
        return True


_queue_sampler_lock = threading.Lock()


def quiet_queue_warnings(interval: float = QUEUE_WARNING_INTERVAL) -> QueueWarningSampler:
    """Install (once per process) the sampler on waitress's queue logger; returns it."""
    queue_logger = logging.getLogger("waitress.queue")
    with _queue_sampler_lock:
        for existing in queue_logger.filters:
            if isinstance(existing, QueueWarningSampler):
                return existing
        sampler = QueueWarningSampler(interval)
        queue_logger.addFilter(sampler)
        return sampler


class _BodylessKeepAliveTask(WSGITask):
    """waitress 3.0 closes the connection after every 204 and 304 answer: it closes when a
    response has no ``Content-Length``, and it (rightly) drops that header from bodyless
    answers. A 304 ends at its blank line, so an HTTP/1.1 connection can carry on; without
    this every cheap poll paid a new TCP connection."""

    def build_response_header(self) -> bytes:
        keep_alive = (self.version == "1.1" and not self.has_body and not self.close_on_finish
                      and self.request.headers.get("CONNECTION", "").lower() != "close")
        if not keep_alive:
            return bytes(super().build_response_header())
        # Inside this call the only close request left is the one for the missing length.
        self.set_close_on_finish = lambda: None
        try:
            return bytes(super().build_response_header())
        finally:
            del self.set_close_on_finish


class _Channel(HTTPChannel):
    """waitress's channel without its busy loop while a task writes.

    A task thread sends its response itself, holding the channel's ``outbuf_lock`` through
    the ``send()``. Meanwhile waitress's loop sees bytes waiting on a writable socket, calls
    ``handle_write``, fails to take the lock and goes straight back to ``select()``: it
    spins, and a spinning thread keeps the GIL, so the task thread waits out the
    interpreter's switch interval (5 ms) to finish each response. Measured with
    ``wrk -t2 -c16`` on a bare app: one thread answered 119-196 req/s, sixteen 1,600-2,400
    req/s with a p99 of 50-150 ms; without the spin, 3,500-3,900 req/s with a p99 under
    10 ms at any thread count.

    So while the task thread is inside ``write_soon`` the loop leaves the socket alone,
    unless the task is parked waiting for it (output past the high watermark) or the
    channel is closing; bytes the task could not send are handed to the loop by one pull
    of the trigger when ``write_soon`` returns, which is when waitress itself would have
    flushed them.
    """

    task_class = _BodylessKeepAliveTask
    _task_writing = False

    def writable(self) -> bool:
        if (self._task_writing and not self.will_close and not self.close_when_flushed
                and self.total_outbufs_len <= self.adj.outbuf_high_watermark):
            return False
        return bool(super().writable())

    def write_soon(self, data: bytes) -> int:
        self._task_writing = True
        try:
            return int(super().write_soon(data))
        finally:
            self._task_writing = False
            if self.total_outbufs_len and self.connected:
                self.server.pull_trigger()


def make_server(app: Any, **options: Any) -> BaseWSGIServer | MultiSocketServer:
    """waitress's ``create_server`` as actorvid serves: a 1 MiB output buffer per connection,
    256 KiB socket reads, sampled queue warnings, no busy loop while a task sends, and
    connections kept open after 304s."""
    options.setdefault("outbuf_high_watermark", OUTBUF_HIGH_WATERMARK)
    options.setdefault("recv_bytes", RECV_BYTES)
    quiet_queue_warnings()
    server = create_server(app, **options)
    listeners = (server.map.values() if isinstance(server, MultiSocketServer) else [server])
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _Channel
    return server


@contextlib.contextmanager
def background_server(app: Any, *, threads: int = 4, **options: Any) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread; yields the base URL.

    The loop runs in small steps so it is stopped from its own thread: closing waitress's
    sockets from another thread while it sits in ``select()`` is a race.
    """
    sockets: dict[int, Any] = {}  # waitress's public ``map`` argument: the loop below runs it
    server = make_server(app, host="127.0.0.1", port=0, threads=threads, map=sockets, **options)
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.is_set():
                wasyncore.loop(timeout=0.05, map=sockets, count=1)
        finally:
            server.task_dispatcher.shutdown(timeout=10)
            wasyncore.close_all(sockets)

    thread = threading.Thread(target=loop, name="actorvid-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=15)
        if thread.is_alive():
            raise RuntimeError("the server thread did not stop")


class SendDeadline:
    """Drop connections whose response has not moved for ``timeout`` seconds.

    Why this exists: once a connection's output passes ``outbuf_high_watermark``, waitress
    parks the task thread in ``channel.write_soon`` (``outbuf_lock.wait()``, no timeout) until
    the client reads; ``channel_timeout`` skips channels with a request in progress, and a
    never-reading client's socket never becomes writable, so nothing else wakes it. A dozen
    such sockets pinned every worker thread.

    Every request registers its waitress channel (found through the
    ``waitress.client_disconnected`` callable waitress puts in the WSGI environ, so this works
    under ``actorvid serve`` and ``waitress-serve`` alike). One watcher thread looks at the
    registered channels a few times per timeout: a channel with bytes waiting whose
    ``last_activity`` (set by waitress whenever the socket accepts bytes) has not changed for
    ``timeout`` is reset (``SO_LINGER`` 0 + ``shutdown``) and marked ``will_close``. waitress's
    loop then sees the dead socket, closes the channel and wakes the parked thread, which
    gets ``ClientDisconnected`` and closes the body (giving back its stream slot). The reset
    also frees the kernel's send buffer at once instead of an orphaned FIN_WAIT socket.
    Outside waitress (Falcon's test client) the environ has no channel and nothing happens.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._interval = max(0.05, min(1.0, timeout / 4))
        self._lock = threading.Lock()
        self._channels: weakref.WeakSet[Any] = weakref.WeakSet()
        # channel -> (the last_activity value seen, when the watcher first saw it unchanged)
        self._stalled: weakref.WeakKeyDictionary[Any, tuple[float, float]] = (
            weakref.WeakKeyDictionary())
        self._thread: threading.Thread | None = None

    def watch(self, environ: dict[str, Any]) -> None:
        """Register the waitress channel serving ``environ`` (no-op under other servers)."""
        channel = getattr(environ.get("waitress.client_disconnected"), "__self__", None)
        if channel is None or not hasattr(channel, "total_outbufs_len"):
            return
        with self._lock:
            self._channels.add(channel)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="actorvid-send-deadline",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self._interval)
            try:
                self.sweep(time.monotonic())
            except Exception:  # the watcher must outlive any one odd channel
                logger.exception("send deadline sweep failed")

    def sweep(self, now: float) -> int:
        """Reset every channel stalled past the deadline; returns how many."""
        with self._lock:
            channels = list(self._channels)
        dropped = 0
        for channel in channels:
            if not channel.connected:
                with self._lock:
                    self._channels.discard(channel)
                continue
            activity = channel.last_activity
            if not channel.total_outbufs_len:
                self._stalled.pop(channel, None)
                continue
            seen = self._stalled.get(channel)
            if seen is None or seen[0] != activity:
                self._stalled[channel] = (activity, now)
            elif now - seen[1] >= self.timeout:
                self._drop(channel)
                dropped += 1
        return dropped

    def _drop(self, channel: Any) -> None:
        logger.warning("dropping a connection from %s: no byte taken for %.0f s",
                       channel.addr[0] if channel.addr else "?", self.timeout)
        self._stalled.pop(channel, None)
        channel.will_close = True
        with contextlib.suppress(OSError):
            channel.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
            channel.socket.shutdown(socket.SHUT_RDWR)
        channel.server.pull_trigger()  # wake waitress's select() to notice


_deadlines: dict[float, SendDeadline] = {}
_deadlines_lock = threading.Lock()


def send_deadline(timeout: float) -> SendDeadline:
    """The process's watcher for ``timeout``: like waitress's own threads it lives as long
    as the process, so every app built in it (tests build many) shares one thread."""
    with _deadlines_lock:
        if timeout not in _deadlines:
            _deadlines[timeout] = SendDeadline(timeout)
        return _deadlines[timeout]


SignalHandler = Callable[[int, Any], None]


def install_stop_signals(on_stop: SignalHandler, *,
                         signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
                         thread_dump: bool = True) -> Callable[[], None]:
    """The one place a process of ours takes its stop signals: ``on_stop`` handles ``signals``
    and, with ``thread_dump``, SIGUSR1 logs every thread's stack. What stopping means differs
    (``actorvid serve`` leaves waitress's loop, ``waitress-serve`` gets a Ctrl-C, a bare actor
    system stops on a thread), so the handler is the caller's. Call from the main thread;
    returns a function that puts the previous handlers back."""
    previous = {sig: signal.signal(sig, on_stop) for sig in signals}
    if thread_dump:
        previous[signal.SIGUSR1] = signal.signal(
            signal.SIGUSR1, lambda signum, frame: pykka.debug.log_thread_tracebacks())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
