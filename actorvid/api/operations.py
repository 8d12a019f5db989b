"""What each responder says about itself in the OpenAPI description, kept next to it.

A resource marks its responders with :func:`described`::

    @described(Op("Get a client", ("clients",), ref("Client")))
    def on_get(self, req, resp, client_id): ...

and ``api/openapi.py`` finds the :class:`Op` for every route Falcon serves through
``falcon.inspect``: it names each route's resource class and each method's responder function,
and :func:`operation_for` looks the pair up here. (``falcon.inspect`` hands out names, not the
resource objects, so the decorator files the operation under the responder's qualified name.)

This module is a leaf of ``api/`` (it imports no resource), so every resource module can import
it; the schema helpers the operations are written with live here for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from actorvid.api.validation import SQLITE_MAX_INT, Schema, camel_case
from actorvid.media.magic import ASSET_TYPES

JSON = "application/json"

# Security requirement lists (OpenAPI: alternatives are ORed).
AUTH: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}, {"cookie": []}]
BINARY_AUTH: list[dict[str, list[str]]] = [*AUTH, {"accessToken": []}]
PUBLIC: list[dict[str, list[str]]] = []


# --- schema helpers -------------------------------------------------------------------------


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return {"type": [type_, "null"], **extra}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
STR_OR_NULL = nullable("string")
NUM_OR_NULL = nullable("number")
OBJ_OR_NULL = nullable("object")
STRINGS = {"type": "array", "items": STR}
# A value the server changed (e.g. a duration snapped to what the model allows): shown, not hid.
ADJUSTMENTS = {"type": "array", "items": {
    "type": "object", "required": ["field", "requested", "used", "note"],
    "properties": {"field": STR, "requested": {}, "used": {}, "note": STR}}}


def list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def message() -> dict[str, Any]:
    return {"type": "object", "required": ["message"], "properties": {"message": STR}}


def stats(*keys: str) -> dict[str, Any]:
    return {"type": "object", "required": list(keys), "properties": {k: NUM for k in keys}}


# --- parameters -----------------------------------------------------------------------------


def param(name: str, schema: dict[str, Any], where: str = "query", *,
          description: str = "") -> dict[str, Any]:
    if where == "query" and name != "token":
        # The old backend's rule, kept: an empty query value means "not given".
        schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    out = {"name": name, "in": where, "required": where == "path", "schema": schema}
    if description:
        out["description"] = description
    return out


LIMIT = param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50})
OFFSET = param("offset", {"type": "integer", "minimum": 0, "maximum": SQLITE_MAX_INT,
                         "default": 0})
PAGE = (LIMIT, OFFSET)
TOKEN = param("token", STR, description="An access token bound to this one resource "
              "(lets a plain <video src> or <img src> load without the API key).")
RANGE = param("Range", {"type": "string", "pattern": "^bytes=[0-9]*-[0-9]*$"}, "header")
JOB_ID = param("job_id", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}, "path")


def list_filter(name: str, schema: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """A list filter in both spellings the routes accept (see ``query_param``)."""
    camel = camel_case(name)
    return (param(name, schema, description=f"Filter; also accepted as {camel}."),
            param(camel, schema, description=f"Same as {name} (send one spelling, or both "
                                             "with the same value)."))


CLIENT_FILTER = list_filter("client_id", STR)
CAMPAIGN_FILTER = list_filter("campaign_id", STR)
ASSET_TYPE_FILTER = list_filter("asset_type", {"type": "string", "enum": list(ASSET_TYPES)})

# Statuses every authenticated route may answer.
COMMON = (401, 404)
BODY = (400, 413, 415, 422)


def job_errors(*extra: int) -> tuple[int, ...]:
    # 503 when the server runs without its actor system (API-only deployments).
    return (*COMMON, *BODY, 503, *extra)


# --- operations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    summary: str
    tags: tuple[str, ...]
    ok: dict[str, Any] | None = None  # the success body's schema (the envelope's data)
    status: int = 200
    page: bool = False
    body: Schema | dict[str, Any] | None = None
    content: tuple[str, ...] = (JSON,)
    params: tuple[dict[str, Any], ...] = ()
    errors: tuple[int, ...] = COMMON
    security: list[dict[str, list[str]]] = field(default_factory=lambda: AUTH)
    binary: str | tuple[str, ...] | None = None  # media type(s) of a streamed body
    raw: dict[str, Any] | None = None  # a non-envelope success body (docs, openapi)
    description: str = ""


Responder = TypeVar("Responder", bound=Callable[..., Any])

# "Class.responder" -> {(METHOD or None, OpenAPI path or None): Op}
_DESCRIBED: dict[str, dict[tuple[str | None, str | None], Op]] = {}


def described(op: Op, *, method: str | None = None, path: str | None = None
              ) -> Callable[[Responder], Responder]:
    """File ``op`` under the decorated responder: for every method and route it serves, or
    only for ``method`` (a responder that also answers HEAD) or ``path`` (one resource
    mounted at two paths). Stack the decorator for several."""
    def mark(responder: Responder) -> Responder:
        # "Class.on_get", also for a class defined inside a function ("f.<locals>.Class"),
        # since falcon.inspect names the class alone.
        name = ".".join(responder.__qualname__.split(".")[-2:])
        entries = _DESCRIBED.setdefault(name, {})
        if entries.get((method, path), op) != op:
            raise RuntimeError(f"{name} is described twice for "
                               f"{method or 'every method'} {path or ''}")
        entries[(method, path)] = op
        return responder
    return mark


def operation_for(class_name: str, function_name: str, method: str, path: str) -> Op | None:
    """The most specific operation filed for this responder, method and (OpenAPI) path."""
    entries = _DESCRIBED.get(f"{class_name}.{function_name}", {})
    for key in ((method, path), (method, None), (None, path), (None, None)):
        if key in entries:
            return entries[key]
    return None
