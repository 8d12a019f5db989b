"""The fake's HTTP side: a falcon app for Replicate's predictions, files and webhook-secret
routes (``reference/external_apis.md`` §1, §4.1), plus ``/delivery/`` for output files, wrapped
in a WSGI layer that journals every request and applies one-shot transport faults.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import falcon

from tests.fakes.replicate.models import (
    REGISTRY,
    ModelSpec,
    cross_field_problem,
    validate_input,
)
from tests.fakes.replicate.predictions import (
    TERMINAL,
    FakePrediction,
    iso,
    new_id,
    parse_iso,
    status_body,
)
from tests.fakes.replicate.transport import Journaling, route_of

if TYPE_CHECKING:
    from tests.fakes.replicate.fake import FakeReplicate

T = TypeVar("T")
PREFER_RE = re.compile(r"^wait(=([1-9]|[1-9][0-9]|60))?$")
DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_cancel_after(value: str) -> float | None:
    """Seconds of a ``Cancel-After`` value (``90``, ``30s``, ``5m``, ``1h30m45s``) or None."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    match = DURATION_RE.match(value)
    if not match or not any(match.groups()):
        return None
    h, m, s = (int(g) if g else 0 for g in match.groups())
    return float(h * 3600 + m * 60 + s)


def _problem(resp: falcon.Response, status: int, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> None:
    resp.status = status
    resp.content_type = "application/problem+json"
    resp.text = json.dumps(body if body is not None else status_body(status))
    for key, value in (headers or {}).items():
        resp.set_header(key, value)


def _found(state: FakeReplicate, table: dict[str, T], key: str, resp: falcon.Response
           ) -> T | None:
    """``table[key]`` (read under the fake's lock), or None after answering 404."""
    with state.lock:
        value = table.get(key)
    if value is None:
        _problem(resp, 404)
    return value


class _Auth:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not req.path.startswith("/v1/"):
            return  # delivery files need no token, as in practice
        scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
        if scheme not in ("Bearer", "Token") or token not in self.state.tokens:
            _problem(resp, 401)
            resp.complete = True
            return
        route = route_of(req.method, req.path)
        wait = self.state.throttle(token, route)
        if wait is not None:
            _problem(resp, 429, {
                "detail": f"Request was throttled. Your rate limit resets in ~{wait}s.",
                "status": 429, "retry_after": wait}, {"Retry-After": str(wait)})
            resp.complete = True


class _Create:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_post(self, req: falcon.Request, resp: falcon.Response, owner: str = "",
                name: str = "") -> None:
        state = self.state
        try:
            payload = json.loads(req.bounded_stream.read() or b"null")
        except ValueError:
            _problem(resp, 400, {"detail": "Invalid JSON", "status": 400})
            return
        if not isinstance(payload, dict):
            _problem(resp, 422, {"detail": "- body: must be an object\n", "status": 422,
                                 "title": "Input validation failed"})
            return
        allowed = {"input", "webhook", "webhook_events_filter", "stream"}
        if not owner:
            allowed.add("version")
        extra = sorted(set(payload) - allowed)
        if extra:
            lines = "".join(f"- (root): Additional property {k} is not allowed\n" for k in extra)
            _problem(resp, 422, {"detail": lines, "status": 422,
                                 "title": "Input validation failed",
                                 "invalid_fields": [{"type": "additional_property_not_allowed",
                                                     "field": "(root)",
                                                     "description": f"Additional property {k} "
                                                                    "is not allowed"}
                                                    for k in extra]})
            return
        spec, version = self._resolve(owner, name, payload.get("version"))
        if spec is None:
            _problem(resp, 422, {"title": "Invalid version or not permitted",
                                 "detail": "The specified version does not exist (or perhaps "
                                           "you don't have permission to use it?)",
                                 "status": 422})
            return
        if "input" not in payload:
            _problem(resp, 422, {"detail": "- (root): input is required\n", "status": 422,
                                 "title": "Input validation failed"})
            return
        errors = validate_input(spec, payload["input"])
        if not errors and state.cross_field == "422":
            problem = cross_field_problem(spec.name, payload["input"])
            if problem:
                errors = [{"type": "invalid", "field": "input", "description": problem}]
        if errors:
            detail = "".join(f"- {e['field']}: {e['description']}\n" for e in errors)
            _problem(resp, 422, {"detail": detail, "status": 422,
                                 "title": "Input validation failed", "invalid_fields": errors})
            return
        prefer = req.get_header("Prefer")
        if prefer is not None and not PREFER_RE.match(prefer):
            _problem(resp, 422, {"detail": "- Prefer: invalid value\n", "status": 422,
                                 "title": "Invalid header"})
            return
        cancel_after = None
        raw_cancel = req.get_header("Cancel-After")
        if raw_cancel is not None:
            cancel_after = parse_cancel_after(raw_cancel)
            if cancel_after is None or cancel_after < 5:
                _problem(resp, 422, {"detail": "- Cancel-After: must be a duration of at least "
                                               "5s\n", "status": 422,
                                     "title": "Invalid header"})
                return
        webhook = payload.get("webhook")
        tag = _webhook_tag(webhook) or req.get_header("X-Actorvid-Tag") or ""
        pred = state.create(spec, version, payload["input"], tag=tag, webhook=webhook,
                            events=payload.get("webhook_events_filter"),
                            cancel_after=cancel_after)
        if prefer is not None:
            seconds = int(prefer.split("=", 1)[1]) if "=" in prefer else 60
            deadline = time.monotonic() + seconds * state.time_scale
            with state.changed:
                while True:
                    state.refresh(pred)
                    remaining = deadline - time.monotonic()
                    if pred.status in TERMINAL or remaining <= 0:
                        break
                    state.changed.wait(min(remaining, 0.01))
        with state.lock:
            state.refresh(pred)
            body = state.to_json(pred)
        resp.status = 201
        resp.media = body
        resp.location = body["urls"]["get"]

    def _resolve(self, owner: str, name: str, version: Any) -> tuple[ModelSpec | None, str]:
        if owner:
            spec = REGISTRY.get(f"{owner}/{name}")
            return (spec, "hidden") if spec and spec.official else (None, "")
        if not isinstance(version, str):
            return None, ""
        if version in REGISTRY and REGISTRY[version].official:
            return REGISTRY[version], "hidden"
        model, _, hash_ = version.rpartition(":")
        for spec in REGISTRY.values():
            if hash_ in spec.versions and model in ("", spec.name):
                return spec, hash_
        return None, ""


def _webhook_tag(webhook: Any) -> str | None:
    if not isinstance(webhook, str):
        return None
    values = parse_qs(urlsplit(webhook).query).get("tag")
    return values[0] if values else None


class _Predictions:
    def __init__(self, state: FakeReplicate, create: _Create) -> None:
        self.state = state
        self.on_post = create.on_post

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = self.state
        after = req.get_param("created_after")
        before = req.get_param("created_before")
        cursor = req.get_param_as_int("cursor") or 0
        with state.lock:
            preds = sorted(state.predictions.values(), key=lambda p: p.created, reverse=True)
            if after:
                preds = [p for p in preds if p.created_wall > parse_iso(after)]
            if before:
                preds = [p for p in preds if p.created_wall < parse_iso(before)]
            page = preds[cursor:cursor + 100]
            for pred in page:
                state.refresh(pred)
            results = [state.to_json(p) for p in page]
        nxt = None
        if cursor + 100 < len(preds):
            query = f"cursor={cursor + 100}"
            if after:
                query += f"&created_after={after}"
            nxt = f"{state.api_url}/predictions?{query}"
        resp.media = {"next": nxt, "previous": None, "results": results}


class _Prediction:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def _find(self, prediction_id: str, resp: falcon.Response) -> FakePrediction | None:
        return _found(self.state, self.state.predictions, prediction_id, resp)

    def on_get(self, req: falcon.Request, resp: falcon.Response, prediction_id: str) -> None:
        pred = self._find(prediction_id, resp)
        if pred is not None:
            with self.state.lock:
                self.state.refresh(pred)
                resp.media = self.state.to_json(pred)

    def on_post_cancel(self, req: falcon.Request, resp: falcon.Response,
                       prediction_id: str) -> None:
        pred = self._find(prediction_id, resp)
        if pred is not None:
            self.state.cancel(pred)
            with self.state.lock:
                resp.media = self.state.to_json(pred)


class _Delivery:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response, prediction_id: str,
               name: str) -> None:
        with self.state.lock:
            pred = self.state.predictions.get(prediction_id)
            if pred is not None:
                self.state.refresh(pred)
            ok = (pred is not None and not pred.data_removed and pred.output_path is not None
                  and pred.output_name == name and pred.output_path.exists())
            path = pred.output_path if ok and pred else None
        if path is None:
            _problem(resp, 404)
            return
        resp.content_type = "video/mp4" if name.endswith(".mp4") else (
            "audio/mpeg" if name.endswith(".mp3") else "audio/wav")
        resp.set_stream(path.open("rb"), path.stat().st_size)


class _Files:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        state = self.state
        form = req.get_media()
        content = None
        meta: dict[str, str] = {}
        file_id = new_id()
        dest = state.root / "files" / file_id
        for part in form:
            if part.name == "content":
                digest = hashlib.sha256()
                size = 0
                with dest.open("wb") as out:
                    while chunk := part.stream.read(65536):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                content = {"size": size, "sha256": digest.hexdigest(),
                           "content_type": part.content_type or "application/octet-stream",
                           "filename": part.filename or "file"}
            else:
                meta[part.name] = part.text
        if content is None:
            _problem(resp, 422, {"detail": "- content: content is required\n", "status": 422,
                                 "title": "Input validation failed"})
            return
        now = datetime.now(UTC)
        obj = {"id": file_id, "name": meta.get("filename", content["filename"]),
               "content_type": meta.get("type", content["content_type"]),
               "size": content["size"], "checksums": {"sha256": content["sha256"]},
               "metadata": {}, "created_at": iso(now),
               "expires_at": iso(now + timedelta(hours=1)),
               "urls": {"get": f"{state.api_url}/files/{file_id}"}}
        with state.lock:
            state.files[file_id] = obj
        resp.status = 201
        resp.media = obj

    def _find(self, file_id: str, resp: falcon.Response) -> dict[str, Any] | None:
        return _found(self.state, self.state.files, file_id, resp)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, file_id: str) -> None:
        obj = self._find(file_id, resp)
        if obj is not None:
            resp.media = obj

    def on_get_download(self, req: falcon.Request, resp: falcon.Response, file_id: str) -> None:
        obj = self._find(file_id, resp)
        if obj is None:
            return
        path = self.state.root / "files" / file_id
        resp.content_type = obj["content_type"]
        resp.set_stream(path.open("rb"), path.stat().st_size)


class _Secret:
    def __init__(self, state: FakeReplicate) -> None:
        self.state = state

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"key": self.state.webhook_secret}


def build_app(state: FakeReplicate) -> Callable[..., Any]:
    app = falcon.App(middleware=[_Auth(state)])
    app.req_options.strip_url_path_trailing_slash = True
    create = _Create(state)
    app.add_route("/v1/predictions", _Predictions(state, create))
    app.add_route("/v1/models/{owner}/{name}/predictions", create)
    prediction = _Prediction(state)
    app.add_route("/v1/predictions/{prediction_id}", prediction)
    app.add_route("/v1/predictions/{prediction_id}/cancel", prediction, suffix="cancel")
    files = _Files(state)
    app.add_route("/v1/files", files)
    app.add_route("/v1/files/{file_id}", files, suffix="item")
    app.add_route("/v1/files/{file_id}/download", files, suffix="download")
    app.add_route("/v1/webhooks/default/secret", _Secret(state))
    app.add_route("/delivery/{prediction_id}/{name}", _Delivery(state))
    return Journaling(state, app)
