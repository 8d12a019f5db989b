"""``GET /api/openapi.json`` and ``GET /api/docs``: the HTTP contract, described from the code.

The description is built from two sources that must agree:

* the routes Falcon actually serves (:func:`served_operations`, through ``falcon.inspect``), and
* the :class:`~actorvid.api.operations.Op` of each responder, written next to it with
  ``@described``: summary, tags, parameters and responses. Request bodies
  come from the ``Schema`` objects the resources validate with (``.json_schema()``), never
  written twice; response components take their property names from the serializers
  themselves (:func:`serializer_keys`).

A route without an operation is still described (as "undocumented", so the page shows it),
and ``tests/contract`` fails on it. The description is built on first request, after every
route is registered.
"""

from __future__ import annotations

import dataclasses
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

from actorvid.api import asset_views, auth, campaigns, clients, job_requests, job_views
from actorvid.api.context import AppContext
from actorvid.api.examples import EXAMPLES
from actorvid.api.operations import (
    ADJUSTMENTS,
    AUTH,
    BINARY_AUTH,
    BOOL,
    INT,
    JSON,
    NUM,
    NUM_OR_NULL,
    OBJ,
    OBJ_OR_NULL,
    PUBLIC,
    STR,
    STR_OR_NULL,
    STRINGS,
    Op,
    described,
    list_of,
    nullable,
    operation_for,
    ref,
)
from actorvid.api.operations import param as _param
from actorvid.api.validation import Schema
from actorvid.domain import creative
from actorvid.media.magic import ASSET_TYPES
from actorvid.store.assets import Asset
from actorvid.store.campaigns import STATUSES as CAMPAIGN_STATUSES
from actorvid.store.campaigns import Campaign
from actorvid.store.clients import Client
from actorvid.store.job_views import JobCounts
from actorvid.store.jobs import JOB_STATUSES, JOB_TYPES, SUB_JOB_STATUSES, Job, SubJob
from actorvid.store.previews import STATUSES as PREVIEW_STATUSES
from actorvid.store.users import ApiKey

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



def _placeholder(annotation: str) -> Any:
    # Serializer keys do not depend on values, so any value of the right kind will do.
    if "None" in annotation:
        return None
    for prefix, value in (("int", 0), ("float", 0.0), ("str", ""), ("bool", False),
                          ("dict", {}), ("tuple", ()), ("list", [])):
        if annotation.startswith(prefix):
            return value
    return None


def sample(cls: type, **overrides: Any) -> Any:
    """An instance of a store dataclass with placeholder values, to run a serializer on."""
    values = {f.name: _placeholder(str(f.type)) for f in dataclasses.fields(cls)
              if f.default is dataclasses.MISSING}
    return cls(**{**values, **overrides})


def serializer_keys() -> dict[str, list[str]]:
    """Every component's property names, as the serializers emit them (in their order)."""
    job = sample(Job, parameters={}, progress={})
    asset_keys: list[str] = []
    for asset_type in ASSET_TYPES:
        for key in asset_views.asset_json(sample(Asset, asset_type=asset_type, format="x")):
            if key not in asset_keys:
                asset_keys.append(key)
    return {
        "Client": list(clients.client_json(sample(Client))),
        "Campaign": list(campaigns.campaign_json(sample(Campaign))),
        "Asset": asset_keys,
        # The one job's view adds its preview (issue 19); lists leave it out.
        "Job": [*job_views.job_view(job, JobCounts(), []), "preview"],
        "Progress": list(job_views.progress_view(job, JobCounts())),
        "Scene": list(job_views.scene_view(job, {"sceneNumber": 1, "duration": 1.0}, None)),
        "SubJob": list(job_views.sub_job_view(sample(SubJob, input={}))),
        "ApiKey": list(auth.api_key_json(sample(ApiKey))),
    }


# Property types of the serializer-backed components. Names come from serializer_keys(); a
# key missing here is rendered as "any value" and the contract tests fail on it.
PROPERTY_TYPES: dict[str, dict[str, dict[str, Any]]] = {
    "Client": {
        "id": STR, "name": STR, "description": STR, "homepage": STR_OR_NULL,
        "brandGuidelines": OBJ_OR_NULL, "metadata": OBJ_OR_NULL, "createdAt": STR,
        "updatedAt": STR,
    },
    "Campaign": {
        "id": STR, "clientId": STR, "name": STR, "goal": STR,
        "status": {"type": "string", "enum": list(CAMPAIGN_STATUSES)},
        "productUrl": STR_OR_NULL, "brief": OBJ_OR_NULL, "metadata": OBJ_OR_NULL,
        "createdAt": STR, "updatedAt": STR,
    },
    "Asset": {
        "id": STR, "userId": STR, "clientId": STR_OR_NULL, "campaignId": STR_OR_NULL,
        "name": STR, "url": STR, "size": INT, "uploadedAt": STR, "tags": STRINGS,
        "thumbnailBlobId": STR_OR_NULL, "sourceUrl": STR_OR_NULL,
        "type": {"type": "string", "enum": list(ASSET_TYPES)}, "format": STR,
        "contentType": STR,
        # Type-specific: image/video width and height, video/audio duration (int seconds, as
        # the old contract had it) next to the exact durationSeconds.
        "width": INT, "height": INT, "thumbnailUrl": STR_OR_NULL, "duration": INT,
        "durationSeconds": NUM_OR_NULL, "waveformUrl": STR_OR_NULL,
        "pageCount": nullable("integer"),
    },
    "Job": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "integer id, as text"},
        "type": {"type": "string", "enum": list(JOB_TYPES)},
        "status": {"type": "string", "enum": list(JOB_STATUSES)},
        "progress": ref("Progress"), "storyboard": OBJ_OR_NULL,
        "scenes": list_of("Scene"), "videoUrl": STR_OR_NULL, "thumbnailUrl": STR_OR_NULL,
        "duration": NUM_OR_NULL, "clipCount": nullable("integer"), "partial": BOOL,
        "failedScenes": {"type": "array"}, "error": STR_OR_NULL, "estimatedCost": NUM,
        "actualCost": NUM, "audio": ref("AudioInfo"),
        "creativeOptions": ref("CreativeOptions"), "provider": STR_OR_NULL,
        "campaignId": STR_OR_NULL, "clientId": STR_OR_NULL, "approvedAt": STR_OR_NULL,
        "createdAt": STR, "updatedAt": STR, "completedAt": STR_OR_NULL,
        "preview": ref("Preview"),
    },
    "Progress": {
        "stage": STR, "percent": INT, "message": STR, "scenesTotal": INT,
        "scenesCompleted": INT, "scenesFailed": INT, "currentStep": INT, "totalSteps": INT,
    },
    "Scene": {
        "id": STR_OR_NULL, "jobId": INT, "sceneNumber": INT, "duration": NUM,
        "description": STR_OR_NULL, "script": STR_OR_NULL, "shotType": STR_OR_NULL,
        "transition": STR_OR_NULL, "assets": STRINGS, "metadata": OBJ_OR_NULL,
        "sceneType": STR_OR_NULL, "prompt": STR_OR_NULL, "firstAssetId": STR_OR_NULL,
        "lastAssetId": STR_OR_NULL, "model": STR_OR_NULL, "provider": STR_OR_NULL,
        "estimatedCost": NUM_OR_NULL, "adjustments": ADJUSTMENTS,
        "status": {"type": "string", "enum": ["planned", *SUB_JOB_STATUSES]},
        "clipUrl": STR_OR_NULL, "error": STR_OR_NULL, "createdAt": STR, "updatedAt": STR,
    },
    "SubJob": {
        "id": STR, "jobId": INT, "subJobNumber": INT, "image1AssetId": STR_OR_NULL,
        "image2AssetId": STR_OR_NULL, "replicatePredictionId": STR_OR_NULL,
        "provider": STR_OR_NULL, "modelId": STR, "inputParameters": OBJ,
        "status": {"type": "string", "enum": list(SUB_JOB_STATUSES)}, "progress": NUM,
        "videoUrl": STR_OR_NULL, "durationSeconds": NUM_OR_NULL,
        "estimatedCost": NUM_OR_NULL, "actualCost": NUM, "errorMessage": STR_OR_NULL,
        "retryCount": INT, "startedAt": STR_OR_NULL, "completedAt": STR_OR_NULL,
        "createdAt": STR, "updatedAt": STR,
    },
    "ApiKey": {
        "id": INT, "name": STR, "prefix": STR_OR_NULL, "is_active": BOOL, "created_at": STR,
        "last_used": STR_OR_NULL, "expires_at": STR_OR_NULL,
    },
}

# Keys every object of the component carries (the Asset's type-specific keys are optional).
_ASSET_COMMON = ("id", "userId", "clientId", "campaignId", "name", "url", "size", "uploadedAt",
                 "tags", "thumbnailBlobId", "sourceUrl", "type", "format", "contentType")


# Keys some answers of a component leave out: a job list has no previews.
_OPTIONAL_KEYS = frozenset({("Job", "preview")})


def serializer_components() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, keys in serializer_keys().items():
        types = PROPERTY_TYPES.get(name, {})
        out[name] = {
            "type": "object",
            "required": [k for k in keys if (name != "Asset" or k in _ASSET_COMMON)
                         and (name, k) not in _OPTIONAL_KEYS],
            "properties": {k: types.get(k, {}) for k in keys},
        }
    return out


def _hand_components() -> dict[str, dict[str, Any]]:
    """Components whose keys are built inline in a responder, written out here."""
    ai_video = {
        "id": STR, "jobId": INT, "subJobNumber": INT, "modelId": STR, "videoUrl": STR,
        "thumbnailUrl": STR, "status": STR, "durationSeconds": NUM, "progress": NUM,
        "errorMessage": STR, "createdAt": STR, "completedAt": STR, "prompt": STR,
        "assetIds": STRINGS,
    }
    generated = {
        "jobId": INT, "id": STR, "type": STR, "status": STR, "campaignId": STR_OR_NULL,
        "clientId": STR_OR_NULL, "videoUrl": STR, "thumbnailUrl": STR_OR_NULL,
        "duration": NUM_OR_NULL, "estimatedCost": NUM, "actualCost": NUM, "createdAt": STR,
        "completedAt": STR_OR_NULL,
    }
    audio_status = {
        "jobId": INT, "audio_id": INT, "status": {"type": "string", "enum": list(JOB_STATUSES)},
        "progress": ref("Progress"), "audio": OBJ_OR_NULL, "total_duration": NUM_OR_NULL,
        "scenes_processed": INT, "audio_url": STR, "model_used": STR, "error": STR_OR_NULL,
        "createdAt": STR, "updatedAt": STR,
    }
    return {
        "Meta": {"type": "object", "required": ["timestamp", "requestId"],
                 "properties": {"timestamp": STR, "requestId": STR}},
        "PageMeta": {"type": "object",
                     "required": ["timestamp", "requestId", "total", "page", "limit", "offset"],
                     "properties": {"timestamp": STR, "requestId": STR, "total": INT,
                                    "page": INT, "limit": INT, "offset": INT}},
        "Error": {
            "description": "Every error, whatever its status: data null, a sentence in "
                           "error, a machine code in meta (validation errors list every bad "
                           "field in meta.details).",
            "type": "object", "required": ["data", "error", "meta"],
            "properties": {
                "data": {"type": "null"}, "error": STR,
                "meta": {"type": "object", "required": ["timestamp", "requestId", "code"],
                         "properties": {
                             "timestamp": STR, "requestId": STR, "code": STR,
                             "details": {"type": "array", "items": {
                                 "type": "object", "required": ["loc", "msg", "type"],
                                 "properties": {"loc": {"type": "array"}, "msg": STR,
                                                "type": STR}}}}}}},
        "Preview": {
            "description": "A job's free local preview (issue 19). status: none (not asked "
                           "for, or removed when the job completed), rendering, ready, failed, "
                           "cancelled, or stale (it shows an earlier storyboard; a new one "
                           "follows). url only when ready for the current storyboard.",
            "type": "object", "required": ["status", "url", "renderedFor"],
            "properties": {
                "status": {"type": "string", "enum": ["none", *PREVIEW_STATUSES, "stale"]},
                "url": STR_OR_NULL,
                "renderedFor": {**STR_OR_NULL, "description": "the storyboard version shown"},
                "duration": NUM_OR_NULL, "error": STR_OR_NULL}},
        "DraftPreview": {
            "description": "A dry-run's draft preview: polled here, kept one hour, never a job.",
            "type": "object", "required": ["id", "status", "url", "renderedFor", "expiresAt"],
            "properties": {
                "id": STR, "status": {"type": "string", "enum": list(PREVIEW_STATUSES)},
                "url": STR_OR_NULL, "renderedFor": STR, "duration": NUM_OR_NULL,
                "error": STR_OR_NULL, "expiresAt": STR, "createdAt": STR}},
        "AudioInfo": {"type": "object", "required": ["status"],
                      "properties": {"status": STR, "requested": BOOL}},
        "CreativeOptions": _creative_options(),
        "AiVideo": {"type": "object", "required": list(ai_video), "properties": ai_video},
        "GeneratedVideo": {"type": "object", "required": list(generated),
                           "properties": generated},
        "AudioStatus": {"type": "object", "required": ["jobId", "status", "audio_url"],
                        "properties": audio_status},
        "ActorNode": {
            "description": "One actor of the live tree. snake_case keys on purpose: the "
                           "actor system's own field names, for operators (not part of the "
                           "old contract). Labels such as job_id, scene_id and scene_number "
                           "appear on the actors they belong to.",
            "type": "object",
            "required": ["kind", "urn", "state", "mailbox", "responding", "children"],
            "properties": {
                "kind": STR, "urn": STR, "child_id": STR_OR_NULL, "job_id": INT,
                "scene_id": STR, "scene_number": INT, "state": OBJ_OR_NULL, "mailbox": INT,
                "started_at": STR_OR_NULL, "restarts": INT, "last_message": STR_OR_NULL,
                "last_message_at": STR_OR_NULL, "responding": BOOL, "alive": BOOL,
                "children": {"type": "array", "items": ref("ActorNode")}}},
        "Health": {"type": "object", "required": ["status", "database", "actors"],
                   "properties": {"status": {"type": "string",
                                             "enum": ["healthy", "unhealthy"]},
                                  "database": STR, "actors": STR}},
    }


def _creative_options() -> dict[str, Any]:
    """The creative options as a job and a dry-run show them (what the request asked, with
    the defaults filled in, and the frame they make)."""
    fields = {f.name: f.json_schema() for f in job_requests.CREATIVE_FIELDS}
    for name in ("titleCard", "endCard"):
        fields[name] = {**job_requests.CARD.json_schema(), "type": ["object", "null"]}
    properties = {
        "aspectRatio": {"type": "string", "enum": list(creative.ASPECT_RATIOS)},
        "resolution": {"type": "string", "enum": list(creative.RESOLUTIONS),
                       "description": "of the finished video (clips of other sizes are "
                                      "scaled to it)"},
        **fields,
        "frameSize": {"type": "object", "required": ["width", "height"],
                      "properties": {"width": INT, "height": INT}},
    }
    return {"type": "object", "required": list(properties), "properties": properties}


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
            "schemas": {**_hand_components(), **serializer_components()},
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
