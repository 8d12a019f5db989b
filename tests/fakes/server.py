"""The one way tests start a loopback server: :class:`LoopbackServer`, on 127.0.0.1 and an
ephemeral port, in a background thread, as ``with`` block or ``start()``/``stop()``.

It serves either

- a WSGI ``app`` (our own app, the fakes of Replicate and xAI, a webhook receiver) through
  ``actorvid.serving.background_server``, so on waitress with the settings production uses; or
- an ``http.server`` ``handler``, for the few fakes that need the raw socket a WSGI app never
  sees: headers dripped a line at a time, a body that ends when the connection does, a
  connection dropped without an answer.

Both bind and listen before ``start()`` returns, so a request sent right after it waits in the
kernel's backlog until the serving thread accepts it: no readiness polling is needed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from actorvid.serving import background_server

HandlerFactory = Callable[..., BaseHTTPRequestHandler]


class LoopbackServer:
    """Serves ``app`` (WSGI) or ``handler`` (``http.server``) on loopback until ``stop()``.

    ``threads`` and ``options`` are waitress's (for an app); ``name`` (the handler server's
    thread) and ``poll_interval`` (how often it looks at its stop flag) are the handler's.
    """

    def __init__(self, app: Callable[..., Any] | None = None, *,
                 handler: HandlerFactory | None = None, name: str = "loopback",
                 threads: int = 16, poll_interval: float = 0.5, **options: Any) -> None:
        if (app is None) == (handler is None):
            raise TypeError("LoopbackServer serves an app or a handler, not both or neither")
        self.app = app
        self.handler = handler
        self.name = name
        self.threads = threads
        self.poll_interval = poll_interval
        self.options = options
        self.url = ""
        self._running: contextlib.ExitStack | None = None

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def start(self) -> LoopbackServer:
        running = contextlib.ExitStack()
        if self.app is not None:
            serving = background_server(self.app, threads=self.threads, **self.options)
        else:
            assert self.handler is not None
            serving = _serve_handler(self.handler, self.name, self.poll_interval)
        self.url = running.enter_context(serving)
        self._running = running
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackFake:
    """What the fakes of remote APIs share: their app on a :class:`LoopbackServer`, started and
    stopped with the fake, and the base URL to configure (``api_url``, the API's ``/v1``)."""

    server: LoopbackServer

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        return self.server.url + "/v1"


@contextlib.contextmanager
def _serve_handler(handler: HandlerFactory, name: str, poll_interval: float) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                              name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
