"""Loopback servers for tests, on 127.0.0.1 and an ephemeral port, in a background thread.

:class:`LoopbackServer` serves a WSGI app (the fakes of Replicate and xAI) with waitress;
:func:`serve_handler` serves an ``http.server`` handler, for fakes that need the raw socket a
WSGI app never sees (a body cut short, a connection closed mid-way, Host headers).
(``actorvid.serving.background_server`` serves our own app the way production does.)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
import waitress
from waitress.server import BaseWSGIServer, MultiSocketServer

logger = logging.getLogger(__name__)


class LoopbackServer:
    """``start()`` binds port 0, runs waitress in a thread and waits until it answers."""

    def __init__(self, app: Callable[..., Any], *, threads: int = 16, name: str = "fake") -> None:
        self.app = app
        self.threads = threads
        self.name = name
        self._server: BaseWSGIServer | MultiSocketServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready_path: str = "/__fake__/health", timeout: float = 10.0
              ) -> LoopbackServer:
        # Our own socket map (waitress's public ``map`` argument): the loop below runs it.
        self._sockets: dict[int, Any] = {}
        server = waitress.create_server(self.app, host="127.0.0.1", port=0,
                                        threads=self.threads, channel_timeout=30,
                                        clear_untrusted_proxy_headers=True, map=self._sockets)
        self._server = server
        self.port = int(server.effective_port)  # type: ignore[union-attr]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(server,),
                                        name=f"{self.name}-waitress", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.url + ready_path, timeout=1)
                return self
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} server did not start") from None
                time.sleep(0.01)

    def _loop(self, server: Any) -> None:
        # waitress's own run() loops while any socket is open, keep-alive ones included; this
        # loop stops on request and closes every socket from the loop's own thread.
        while not self._stopping.is_set() and self._sockets:
            server.asyncore.loop(timeout=0.05, map=self._sockets, count=1)
        for channel in list(self._sockets.values()):
            channel.close()

    def stop(self, timeout: float = 10.0) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        server.task_dispatcher.shutdown(timeout=timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("%s server thread did not stop", self.name)


@contextlib.contextmanager
def serve_handler(handler: Callable[..., BaseHTTPRequestHandler], *, name: str = "loopback",
                  poll_interval: float = 0.5) -> Iterator[ThreadingHTTPServer]:
    """Serve ``handler`` until the block ends; the server's port is ``server_address[1]``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                              name=name, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
