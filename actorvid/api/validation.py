"""Declarative request validation that reports every bad field at once.

A :class:`Schema` is a tuple of :class:`Field`; ``validate`` returns the cleaned body (only known
keys, defaults filled) or raises :class:`~actorvid.errors.ValidationFailed` whose ``details``
list every problem as ``{loc, msg, type}``. The same objects render as JSON Schema, so the
OpenAPI description is generated from what the code enforces, never written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import falcon

from actorvid.errors import MalformedJSON, PayloadTooLarge, ValidationFailed
from actorvid.jsonsafe import JSONRejected

_MISSING = object()
SQLITE_MAX_INT = 2**63 - 1

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # a JSON Schema type name
    required: bool = False
    nullable: bool = False
    default: Any = _MISSING
    enum: tuple[Any, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: Field | None = None
    schema: Schema | None = None  # for nested objects
    max_items: int | None = None
    min_items: int | None = None
    description: str = ""

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": [self.type, "null"] if self.nullable else self.type}
        if self.schema is not None:
            out.update(self.schema.json_schema())
            if self.nullable:
                out["type"] = ["object", "null"]
        if self.enum is not None:
            out["enum"] = list(self.enum) + ([None] if self.nullable else [])
        for key, value in (("minLength", self.min_length), ("maxLength", self.max_length),
                           ("minimum", self.minimum), ("maximum", self.maximum),
                           ("maxItems", self.max_items), ("minItems", self.min_items)):
            if value is not None:
                out[key] = value
        if self.items is not None:
            out["items"] = self.items.json_schema()
        if self.default is not _MISSING and self.default is not None:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...]
    name: str = ""
    partial: bool = field(default=False)  # PUT: nothing required, absent keys stay absent

    def as_partial(self) -> Schema:
        return Schema(self.fields, self.name, partial=True)

    def json_schema(self) -> dict[str, Any]:
        required = [] if self.partial else [f.name for f in self.fields if f.required]
        out: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.json_schema() for f in self.fields},
        }
        if required:
            out["required"] = required
        return out

    def validate(self, body: Any, loc: Sequence[str | int] = ("body",)) -> dict[str, Any]:
        details: list[dict[str, Any]] = []
        cleaned = self._validate_object(body, list(loc), details)
        if details:
            # Each message names its field (the old backend's sentences, e.g. "campaignId is
            # required"); the full path of every problem is in ``details``.
            raise ValidationFailed(details[0]["msg"], details)
        return cleaned

    def _validate_object(self, body: Any, loc: list[str | int],
                         details: list[dict[str, Any]]) -> dict[str, Any]:
        if not isinstance(body, dict):
            details.append({"loc": loc, "msg": "must be a JSON object", "type": "object_type"})
            return {}
        cleaned: dict[str, Any] = {}
        for f in self.fields:
            value = body.get(f.name, _MISSING)
            if value is _MISSING:
                if f.required and not self.partial:
                    details.append({"loc": [*loc, f.name], "msg": f"{f.name} is required",
                                    "type": "missing"})
                elif f.default is not _MISSING and not self.partial:
                    cleaned[f.name] = f.default
                continue
            cleaned[f.name] = _check(f, value, [*loc, f.name], details)
        return cleaned


def _check(f: Field, value: Any, loc: list[str | int], details: list[dict[str, Any]]) -> Any:
    if value is None:
        if f.nullable or (not f.required and f.default is None):
            return None
        details.append({"loc": loc, "msg": f"{f.name} may not be null", "type": "null"})
        return None
    expected = _JSON_TYPES[f.type]
    # bool is an int in Python but not in JSON.
    if not isinstance(value, expected) or (isinstance(value, bool) and f.type != "boolean"):
        details.append({"loc": loc, "msg": f"{f.name} must be of type {f.type}",
                        "type": f"{f.type}_type"})
        return None
    if f.enum is not None and value not in f.enum:
        allowed = ", ".join(str(v) for v in f.enum)
        details.append({"loc": loc, "msg": f"{f.name} must be one of: {allowed}",
                        "type": "enum"})
        return None
    if isinstance(value, str):
        if f.min_length is not None and len(value.strip()) < f.min_length:
            details.append({"loc": loc, "msg": f"{f.name} must not be empty" if f.min_length == 1
                            else f"{f.name} must have at least {f.min_length} characters",
                            "type": "too_short"})
        if f.max_length is not None and len(value) > f.max_length:
            details.append({"loc": loc, "msg": f"{f.name} must have at most {f.max_length} "
                            "characters", "type": "too_long"})
    if f.type in ("integer", "number") and isinstance(value, int | float):
        if f.minimum is not None and value < f.minimum:
            details.append({"loc": loc, "msg": f"{f.name} must be at least {f.minimum:g}",
                            "type": "greater_than_equal"})
        if f.maximum is not None and value > f.maximum:
            details.append({"loc": loc, "msg": f"{f.name} must be at most {f.maximum:g}",
                            "type": "less_than_equal"})
    if isinstance(value, list):
        if f.max_items is not None and len(value) > f.max_items:
            details.append({"loc": loc, "msg": f"{f.name} may have at most {f.max_items} items",
                            "type": "too_long"})
            return None
        if f.min_items is not None and len(value) < f.min_items:
            details.append({"loc": loc, "msg": f"{f.name} needs at least {f.min_items} items",
                            "type": "too_short"})
        if f.items is not None:
            return [_check(f.items, item, [*loc, i], details) for i, item in enumerate(value)]
    if isinstance(value, dict) and f.schema is not None:
        return f.schema._validate_object(value, loc, details)
    return value


def read_json(req: falcon.Request, schema: Schema | None, *, max_bytes: int) -> Any:
    """Parse the JSON (or form) body, enforce the size cap and validate it against ``schema``."""
    if req.content_length is not None and req.content_length > max_bytes:
        raise PayloadTooLarge(f"Request body exceeds {max_bytes} bytes")
    if not req.content_length and not req.get_header("Transfer-Encoding"):
        raise ValidationFailed("Request body is required",
                               [{"loc": ["body"], "msg": "Request body is required",
                                 "type": "missing"}])
    content_type = (req.content_type or "application/json").split(";")[0].strip().lower()
    if content_type not in ("application/json", "application/x-www-form-urlencoded"):
        raise ValidationFailed(
            "Content-Type must be application/json",
            [{"loc": ["header", "content-type"], "msg": "must be application/json",
              "type": "content_type"}])
    try:
        body = req.get_media()
    except falcon.MediaMalformedError as ex:
        raise malformed_json(ex) from None
    except falcon.MediaNotFoundError:
        raise ValidationFailed("Request body is required",
                               [{"loc": ["body"], "msg": "Request body is required",
                                 "type": "missing"}]) from None
    return schema.validate(body) if schema is not None else body


def malformed_json(ex: falcon.MediaMalformedError) -> MalformedJSON:
    """The client's error for a body the JSON reader refused, saying why when we know."""
    if isinstance(ex.__cause__, JSONRejected):
        return MalformedJSON(f"Request body is not valid JSON: {ex.__cause__}")
    return MalformedJSON()


def camel_case(name: str) -> str:
    """``client_id`` → ``clientId``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def query_param(req: falcon.Request, name: str) -> tuple[str, str | None]:
    """The stripped value of query parameter ``name`` (snake_case, as the old backend named
    them) or of its camelCase spelling (as our bodies name fields), and the spelling found.

    A frontend sending ``?clientId=`` used to get every row silently. Both spellings with
    different values are a 422 rather than a guess.
    """
    if not req.query_string:
        return name, None  # most GETs carry no query: skip spelling out both names
    found: list[tuple[str, str]] = []
    for spelling in dict.fromkeys((name, camel_case(name))):
        raw = req.get_param(spelling)
        if raw is not None and raw.strip():
            found.append((spelling, raw.strip()))
    if len({value for _, value in found}) > 1:
        raise ValidationFailed.field(["query", name], f"{found[0][0]} and {found[1][0]} "
                                     "differ; send one of them", "conflict")
    return found[0] if found else (name, None)


def query_int(req: falcon.Request, name: str, default: int, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    name, raw = query_param(req, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed.field(["query", name], f"{name} must be an integer",
                                     "int_parsing") from None
    if minimum is not None and value < minimum:
        raise ValidationFailed.field(["query", name], f"{name} must be at least {minimum}",
                                     "greater_than_equal")
    maximum = SQLITE_MAX_INT if maximum is None else maximum  # beyond it SQLite overflows
    if value > maximum:
        raise ValidationFailed.field(["query", name], f"{name} must be at most {maximum}",
                                     "less_than_equal")
    return value


def pagination(req: falcon.Request, *, default_limit: int = 50, max_limit: int = 1000
               ) -> tuple[int, int]:
    """``limit`` (1..max) and ``offset`` (≥ 0); out of range is a 422, not a clamp."""
    limit = query_int(req, "limit", default_limit, minimum=1, maximum=max_limit)
    offset = query_int(req, "offset", 0, minimum=0)
    return limit, offset


def query_enum(req: falcon.Request, name: str, allowed: Sequence[str]) -> str | None:
    """An optional query parameter that must be one of ``allowed`` (a 422 otherwise)."""
    name, value = query_param(req, name)
    if value is not None and value not in allowed:
        raise ValidationFailed.field(["query", name],
                                     f"{name} must be one of: {', '.join(allowed)}", "enum")
    return value


def query_str(req: falcon.Request, name: str) -> str | None:
    """An optional text filter, in either spelling (see :func:`query_param`)."""
    return query_param(req, name)[1]
