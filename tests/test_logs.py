"""The log formats: records carry the request, job and scene they are about."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from actorvid.api.envelope import request_id_var
from actorvid.logs import ContextFilter, JsonFormatter


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("actorvid.test_logs")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    outside_requests = request_id_var.set("")
    yield log, stream
    request_id_var.reset(outside_requests)
    log.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_job_and_scene_ids_come_from_the_message(json_log) -> None:
    log, stream = json_log
    log.info("job %d scene %s (#%d): prediction %s stored", 7, "3f2c-aa", 1, "p-1")
    log.warning("job %d: resume", 8)
    log.info("actor system started; a job 3 scene x mentioned later names none")
    first, second, third = lines(stream)
    assert (first["job_id"], first["scene_id"]) == (7, "3f2c-aa")
    assert first["message"] == "job 7 scene 3f2c-aa (#1): prediction p-1 stored"
    assert first["level"] == "INFO" and first["logger"] == "actorvid.test_logs"
    assert first["time"].endswith("Z")
    assert second["job_id"] == 8 and "scene_id" not in second
    assert not {"job_id", "scene_id", "request_id"} & set(third)


def test_extra_wins_and_the_request_id_is_the_current_requests(json_log) -> None:
    log, stream = json_log
    token = request_id_var.set("req-42")
    try:
        log.info("scene stored", extra={"job_id": 3, "scene_id": "s-9"})
    finally:
        request_id_var.reset(token)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("job 5: failed")
    stored, failed = lines(stream)
    assert (stored["request_id"], stored["job_id"], stored["scene_id"]) == ("req-42", 3, "s-9")
    assert "request_id" not in failed
    assert failed["job_id"] == 5 and "ValueError: boom" in failed["exception"]


def test_a_thread_forgets_the_request_id_once_the_request_is_answered(client) -> None:
    resp = client.simulate_get("/health", headers={"X-Request-ID": "req-done"})
    assert resp.headers["X-Request-ID"] == "req-done"
    assert request_id_var.get() == ""  # the test client ran the app on this thread
    # Errors are answered before the id is forgotten, so they still carry it.
    for path in ("/api/v3/clients", "/api/v3/nothing-here"):
        error = client.simulate_get(path, headers={"X-Request-ID": "req-err"})
        assert error.status_code in (401, 404)
        assert error.json["meta"]["requestId"] == "req-err"
    assert request_id_var.get() == ""


def test_a_request_without_an_id_gets_a_new_32_hex_digit_one(client) -> None:
    ids = {client.simulate_get("/health").headers["X-Request-ID"] for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    # An unsafe id from the client is replaced, not echoed.
    replaced = client.simulate_get("/health", headers={"X-Request-ID": "bad id\n"})
    assert replaced.headers["X-Request-ID"] not in ("bad id\n", "")
