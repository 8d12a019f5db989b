"""The fake's WSGI layer under its routes: every request is journaled (what the client sent,
as it arrived), and a one-shot fault (:class:`~tests.fakes.replicate.predictions.Fault`) may
answer in the app's place, answer late, or cut the answer short."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import falcon

if TYPE_CHECKING:
    from tests.fakes.replicate.fake import FakeReplicate


def route_of(method: str, path: str) -> str:
    if path.startswith("/delivery/"):
        return "download"
    if path.startswith("/v1/files"):
        return "files"
    if path == "/v1/webhooks/default/secret":
        return "secret"
    if method == "POST" and path.endswith("/cancel"):
        return "cancel"
    if method == "POST" and (path == "/v1/predictions" or path.endswith("/predictions")):
        return "create"
    if method == "GET" and path == "/v1/predictions":
        return "list"
    if path.startswith("/v1/"):
        return "get"
    return "other"


class Journaling:
    """WSGI wrapper: journal every request and apply one-shot transport faults."""

    def __init__(self, state: FakeReplicate, app: falcon.App) -> None:
        self.state = state
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        route = route_of(method, path)
        if route == "other":  # not Replicate's: unknown paths answer 404 unjournaled
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            body = json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else None
        except ValueError:
            body = None
        entry = {"method": method, "path": path, "query": environ.get("QUERY_STRING", ""),
                 "route": route, "headers": headers, "body": body, "time": time.monotonic()}
        self.state.journal.add(entry)
        fault = self.state.take_fault(route)
        if fault is None:
            return self.app(environ, start_response)
        if fault.kind == "status":
            payload = json.dumps(fault.body).encode()
            start_response(f"{fault.status} Fault", [
                ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                *fault.headers.items()])
            return [payload]
        captured: dict[str, Any] = {}

        def capture(status: str, hdrs: list[tuple[str, str]], exc_info: Any = None
                    ) -> Callable[[bytes], object]:
            captured["status"], captured["headers"] = status, hdrs
            return lambda data: None  # the app returns its body; nothing writes through this

        if fault.kind == "reset" and not fault.after:
            payload = b""
            captured.update(status="201 Created", headers=[])
        else:
            payload = b"".join(self.app(environ, capture))
        if fault.kind == "slow":
            time.sleep(fault.seconds)
            start_response(captured["status"], captured["headers"])
            return [payload]
        # "reset": promise more bytes than we send; waitress then closes the connection and the
        # client sees a broken answer, as with a reset after the server did the work.
        start_response(captured["status"], [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload) + 4096))])
        return [payload[: len(payload) // 2]]
