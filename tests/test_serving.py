"""Serving on waitress: sampled queue warnings, connections kept open after 304s."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

from waitress.task import ThreadedTaskDispatcher

from actorvid.serving import (
    QueueWarningSampler,
    background_server,
    make_server,
    quiet_queue_warnings,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _record(depth: int) -> logging.LogRecord:
    return logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1,
                             "Task queue depth is %d", (depth,), None)


def test_one_line_per_interval_with_the_count_and_the_deepest_queue():
    # The sampler on its own: the process-wide one on waitress's logger is shared by the
    # servers of other tests, whose warnings it may already be holding back.
    clock = Clock()
    sampler = QueueWarningSampler(60.0, monotonic=clock)
    passed = [r for r in map(_record, (1, 5, 2, 3)) if sampler.filter(r)]
    clock.now += 60.0
    passed += [r for r in [_record(1)] if sampler.filter(r)]
    lines = [r.getMessage() for r in passed]
    assert len(lines) == 2
    assert lines[0].startswith("Task queue depth is 1 (0 more")
    assert lines[1].startswith("Task queue depth is 1 (3 more such warnings in the last 60 s, "
                               "deepest 5)")


def test_waitress_dispatcher_queueing_is_sampled_once_installed(caplog):
    sampler = quiet_queue_warnings()
    assert quiet_queue_warnings() is sampler  # installed once per process
    dispatcher = ThreadedTaskDispatcher()  # no threads: every task queues

    class Task:
        def service(self) -> None: ...

        def cancel(self) -> None: ...

    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        for _ in range(50):
            dispatcher.add_task(Task())
    lines = [r for r in caplog.records if r.name == "waitress.queue"]
    assert len(lines) <= 1


def test_a_304_keeps_the_connection_open(live_server, user):
    """waitress alone closes after every 304; ``make_server`` keeps HTTP/1.1 connections."""
    host, port = live_server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/api/v3/clients", headers=user.headers)
        first = conn.getresponse()
        first.read()
        tag = first.getheader("ETag")
        assert tag is not None
        sock = conn.sock
        for _ in range(2):
            conn.request("GET", "/api/v3/clients", headers={**user.headers, "If-None-Match": tag})
            again = conn.getresponse()
            assert again.status == 304 and again.read() == b""
            assert again.getheader("Connection") is None
            assert conn.sock is sock  # the same socket carried every request
        conn.request("GET", "/api/v3/clients", headers={**user.headers, "Connection": "close"})
        closing = conn.getresponse()
        closing.read()
        assert closing.status == 200 and closing.getheader("Connection") == "close"
    finally:
        conn.close()


def test_the_loop_leaves_a_socket_alone_while_its_task_sends():
    """The policy behind the busy-loop fix (``serving._Channel``): while a task thread is in
    ``write_soon`` the loop does not try the socket, unless the task waits for it (output
    past the high watermark) or the channel is closing."""
    sockets: dict[int, Any] = {}
    server = make_server(lambda environ, start: [], host="127.0.0.1", port=0, threads=1,
                         map=sockets)
    ours, theirs = socket.socketpair()
    try:
        channel: Any = server.channel_class(server, ours, ("127.0.0.1", 0), server.adj,
                                            map=sockets)
        channel.total_outbufs_len = 100
        assert channel.writable()  # bytes waiting and no task sending: the loop sends them
        channel._task_writing = True
        assert not channel.writable()
        channel.total_outbufs_len = server.adj.outbuf_high_watermark + 1
        assert channel.writable()  # the task is parked until the loop sends some
        channel.total_outbufs_len = 100
        channel.will_close = True
        assert channel.writable()
    finally:
        server.task_dispatcher.shutdown(timeout=10)
        server.close()
        ours.close()
        theirs.close()


def test_bytes_a_task_could_not_send_reach_a_slow_client_while_the_task_still_runs():
    """A response's first part fills the socket; the task then waits (as a download does
    for its next chunk). The loop must send the rest of that part as the client reads,
    without waiting for the task to write again or to finish."""
    part = 8 * 1024 * 1024
    paused, resume = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start: Any) -> Iterator[bytes]:
        start("200 OK", [("Content-Length", str(part + 1))])
        yield b"x" * part
        paused.set()  # waitress asks for more only once write_soon has returned
        resume.wait(timeout=120)
        yield b"!"

    # A watermark above the part, so the task is not parked: it returns with bytes unsent.
    with background_server(app, threads=1, outbuf_high_watermark=4 * part) as url:
        host, port = url.removeprefix("http://").split(":")
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        client.settimeout(60)
        try:
            client.connect((host, int(port)))
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            # Nothing read until then: the kernel's buffers hold a few MiB, the rest waits.
            assert paused.wait(timeout=60)
            received = bytearray()
            while received.count(b"x") < part:
                chunk = client.recv(256 * 1024)
                assert chunk, "the server closed the connection"
                received += chunk
            assert not resume.is_set()  # all of it came while the task was still waiting
            resume.set()
            while not received.endswith(b"!"):
                chunk = client.recv(1024)
                assert chunk
                received += chunk
        finally:
            resume.set()
            client.close()
