"""``GET /api/openapi.json`` and ``GET /api/docs``: the HTTP contract, described from the code.

The description is built from two sources that must agree:

* the routes Falcon actually serves (:func:`served_operations`, through ``falcon.inspect``), and
* the :class:`~actorvid.api.operations.Op` of each responder, written next to it with
  ``@described``: summary, tags, parameters and responses. Request bodies
  come from the ``Schema`` objects the resources validate with (``.json_schema()``), never
  written twice; the response components are built in ``api/components.py``, which takes
  their property names from the serializers themselves.

A route without an operation is still described (as "undocumented", so the page shows it),
and ``tests/contract`` fails on it. The description is built on first request, after every
route is registered.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

import falcon
import falcon.inspect
from openapi_ui_bundles import swagger_ui

from actorvid.api import components
from actorvid.api.context import AppContext
from actorvid.api.examples import EXAMPLES
from actorvid.api.operations import (
    AUTH,
    BINARY_AUTH,
    JSON,
    PUBLIC,
    STR,
    Op,
    described,
    operation_for,
    ref,
)
from actorvid.api.operations import param as _param
from actorvid.api.validation import Schema

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
# Everything the explorer page loads, each from this origin: Swagger UI's files from the
# openapi-ui-bundles package and our page and start-up script.
_JS = "text/javascript; charset=utf-8"
DOCS_FILES: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger", _JS),
    "swagger-ui.css": ("swagger", "text/css; charset=utf-8"),
    "docs.js": ("ours", _JS),
}

# What the README says too (tests/contract/test_key_case.py holds both to the served keys).
KEY_CASE = ("Request and response bodies are camelCase, except: /api/auth/* answers "
            "snake_case keys (access_token, created_at, ...), as the old backend's auth routes "
            "did; /api/v3/audio/status/{job_id} keeps the old mixed shape (jobId next to "
            "audio_url); /api/v3/debug/actors answers the actor system's snake_case field "
            "names. Query parameters are snake_case; list filters also take their camelCase "
            "spelling (client_id or clientId).")


# --- schema helpers -------------------------------------------------------------------------


def envelope_of(data: dict[str, Any], *, page: bool = False) -> dict[str, Any]:
    """A success envelope around ``data``; paged lists carry ``total``/``page`` in meta."""
    return {"type": "object", "required": ["data", "error", "meta"],
            "properties": {"data": data, "error": {"type": "null"},
                           "meta": ref("PageMeta" if page else "Meta")}}


_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 206: "Partial content",
                304: "Not modified", 400: "Malformed request", 401: "Not authenticated",
                403: "Forbidden", 404: "Not found (or not the caller's)",
                409: "Not allowed in the current state", 413: "Body too large",
                415: "Unsupported media type", 416: "Range not satisfiable",
                422: "Validation failed", 429: "Too many requests",
                502: "An upstream service failed", 503: "Service unavailable"}


# --- reading the router ---------------------------------------------------------------------

_CONVERTER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def openapi_path(template: str) -> str:
    """Falcon's ``{key_id:int}`` becomes OpenAPI's ``{key_id}``."""
    return _CONVERTER.sub(r"{\1}", template)


def served_operations(app: falcon.App) -> set[tuple[str, str]]:
    """Every ``(OpenAPI path, METHOD)`` the app's router dispatches to one of our responders."""
    return set(served_operation_table(app))


def served_operation_table(app: falcon.App) -> dict[tuple[str, str], Op | None]:
    """Every served ``(OpenAPI path, METHOD)`` with its operation (None: not described).

    Read through ``falcon.inspect`` (Falcon's public view of the compiled router); the responders
    Falcon generates for unmapped methods (405, the default OPTIONS) are marked ``internal``.
    It names each route's resource class and each method's responder, under which ``@described``
    filed the operation.
    """
    out: dict[tuple[str, str], Op | None] = {}
    for route in falcon.inspect.inspect_routes(app):
        path = openapi_path(route.path)
        for method in route.methods:
            if method.internal:
                continue
            out[(path, method.method)] = operation_for(route.class_name, method.function_name,
                                                       method.method, path)
    return out


def check_table(app: falcon.App) -> set[tuple[str, str]]:
    """The served ``(path, METHOD)`` pairs no responder describes."""
    return {key for key, op in served_operation_table(app).items() if op is None}


# --- building the description ---------------------------------------------------------------


def _request_schema(body: Schema | dict[str, Any]) -> dict[str, Any]:
    return body.json_schema() if isinstance(body, Schema) else body


def _path_params(path: str, declared: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    names = {p["name"] for p in declared if p["in"] == "path"}
    extra = [_param(name, STR, "path") for name in re.findall(r"\{(\w+)\}", path)
             if name not in names]
    return [*declared, *extra]


def _operation(path: str, method: str, op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}",
        "summary": op.summary, "tags": list(op.tags), "security": op.security,
    }
    if op.description:
        out["description"] = op.description
    params = _path_params(path, op.params)
    if method == "HEAD":
        params = [p for p in params if p["in"] != "header"]
    if params:
        out["parameters"] = params
    if op.body is not None:
        media: dict[str, Any] = {"schema": _request_schema(op.body)}
        if (path, method) in EXAMPLES:
            media["example"] = EXAMPLES[(path, method)]
        out["requestBody"] = {"required": True,
                              "content": {ct: media for ct in op.content}}
    responses: dict[str, Any] = {}
    if op.raw is not None:
        responses[str(op.status)] = {"description": _STATUS_TEXT[op.status],
                                     "content": {JSON: {"schema": op.raw}}}
    elif op.binary is not None:
        types = (op.binary,) if isinstance(op.binary, str) else op.binary
        content = {} if method == "HEAD" else {media_type: {"schema": {
            "type": "string", "format": "binary"}} for media_type in types}
        responses[str(op.status)] = {"description": _STATUS_TEXT[op.status], **(
            {"content": content} if content else {})}
        if op.security is BINARY_AUTH:
            responses["206"] = {"description": _STATUS_TEXT[206], **(
                {"content": content} if content else {})}
            responses["304"] = {"description": _STATUS_TEXT[304]}
    else:
        responses[str(op.status)] = {
            "description": _STATUS_TEXT[op.status],
            "content": {JSON: {"schema": envelope_of(op.ok or {}, page=op.page)}}}
    for status in sorted(set(op.errors)):
        responses[str(status)] = {"description": _STATUS_TEXT[status],
                                  **({} if method == "HEAD" else {"content": {JSON: {
                                      "schema": ref("Error")}}})}
    if op.security and op.security is not PUBLIC and "401" not in responses:
        responses["401"] = {"description": _STATUS_TEXT[401],
                            "content": {JSON: {"schema": ref("Error")}}}
    out["responses"] = responses
    return out


def _undocumented(path: str, method: str) -> dict[str, Any]:
    return {"operationId": f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', path)}",
            "summary": "Undocumented route", "tags": ["undocumented"],
            "parameters": _path_params(path, ()),
            "responses": {"default": {"description": "Not described yet"}}}


def build_description(app: falcon.App, *, server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document for the routes ``app`` serves."""
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), op in sorted(served_operation_table(app).items()):
        paths.setdefault(path, {})[method.lower()] = (
            _operation(path, method, op) if op is not None else _undocumented(path, method))
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "actorvid API", "version": "3",
                 "description": "AI marketing-video studio. Every JSON response is an "
                                "envelope {data, error, meta}; errors use real HTTP status "
                                "codes and still carry it. " + KEY_CASE},
        "paths": paths,
        "components": {
            "schemas": components.schemas(),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API key (sk_...) or a session token"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "access_token"},
                "metricsToken": {"type": "http", "scheme": "bearer",
                                 "description": "ACTORVID_METRICS_TOKEN (GET /metrics only)"},
                "accessToken": {"type": "apiKey", "in": "query", "name": "token",
                                "description": "Binary GET/HEAD routes only; bound to one "
                                               "resource"},
            },
        },
        "security": AUTH,
        "tags": [{"name": name} for name in _tag_order(paths)],
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def _tag_order(paths: dict[str, dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for item in paths.values():
        for operation in item.values():
            for tag in operation.get("tags", []):
                if tag not in seen:
                    seen.append(tag)
    return seen


# --- resources ------------------------------------------------------------------------------


class OpenApiResource:
    """Serves the description, built once (after every route exists) and then cached."""

    auth = "none"

    def __init__(self, app: falcon.App) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._body: bytes | None = None

    def body(self) -> bytes:
        with self._lock:
            if self._body is None:
                self._body = json.dumps(build_description(self._app)).encode()
            return self._body

    @described(Op(
        "This description (OpenAPI 3.1)", ("service",), security=PUBLIC, errors=(),
        raw={"type": "object", "required": ["openapi", "paths"]}))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.cache_control = ["no-cache"]
        resp.data = self.body()


# Swagger UI sets inline styles and shows data: images; scripts and fetches stay same-origin.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'")


@functools.cache
def docs_file(name: str) -> bytes:
    """The bytes of ``docs.html`` or of a :data:`DOCS_FILES` entry (read once)."""
    origin = DOCS_FILES[name][0] if name in DOCS_FILES else "ours"
    if origin == "swagger":
        return (swagger_ui.static_path / name).read_bytes()
    return resources.files("actorvid.api").joinpath(f"static/{name}").read_bytes()


def _serve_docs_file(resp: falcon.Response, content_type: str, data: bytes) -> None:
    resp.content_type = content_type
    resp.set_header("Content-Security-Policy", DOCS_CSP)
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.data = data


class DocsResource:
    """``/api/docs``: Swagger UI over ``/api/openapi.json``, and the files it loads."""

    auth = "none"

    def __init__(self, page: Callable[[str], bytes] = docs_file) -> None:
        self._file = page

    @described(Op(
        "The API explorer (Swagger UI) on this description: read it, try it out",
        ("service",), security=PUBLIC, errors=(), binary="text/html"))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _serve_docs_file(resp, "text/html; charset=utf-8", self._file("docs.html"))

    @described(Op(
        "A file the explorer loads (served here: no CDN)", ("service",), security=PUBLIC,
        errors=(404,), binary=("text/javascript", "text/css"),
        params=(_param("name", {"type": "string", "enum": sorted(DOCS_FILES)}, "path"),)))
    def on_get_static(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in DOCS_FILES:
            raise falcon.HTTPRouteNotFound()
        # Swagger UI's version changes only with the package: a day of caching is safe.
        resp.cache_control = ["public", "max-age=86400"]
        _serve_docs_file(resp, DOCS_FILES[name][1], self._file(name))


def add_openapi_routes(app: falcon.App, ctx: AppContext) -> None:
    """Register ``/api/openapi.json``, ``/api/docs`` and its files (all public)."""
    app.add_route(OPENAPI_PATH, OpenApiResource(app))
    docs = DocsResource()
    app.add_route(DOCS_PATH, docs)
    app.add_route(f"{DOCS_PATH}/static/{{name}}", docs, suffix="static")
