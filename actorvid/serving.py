"""Serving the app on waitress: settings shared by ``actorvid serve``, the demo and tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

# waitress buffers up to this much of a response per connection before pausing the app;
# its 16 MiB default makes four parallel 100 MiB downloads cost ~76 MiB of RSS.
OUTBUF_HIGH_WATERMARK = 1024 * 1024


@contextlib.contextmanager
def background_server(app: Any, *, threads: int = 4, **options: Any) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread; yields the base URL.

    The loop runs in small steps so it is stopped from its own thread: closing waitress's
    sockets from another thread while it sits in ``select()`` is a race.
    """
    options.setdefault("outbuf_high_watermark", OUTBUF_HIGH_WATERMARK)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, **options)
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.is_set():
                wasyncore.loop(timeout=0.05, map=server._map, count=1)
        finally:
            server.task_dispatcher.shutdown(timeout=10)
            wasyncore.close_all(server._map)

    thread = threading.Thread(target=loop, name="actorvid-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=15)
        if thread.is_alive():
            raise RuntimeError("the server thread did not stop")
