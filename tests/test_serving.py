"""Serving on waitress: sampled queue warnings, connections kept open after 304s."""

from __future__ import annotations

import http.client
import logging

from waitress.task import ThreadedTaskDispatcher

from actorvid.serving import QueueWarningSampler, quiet_queue_warnings


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
