"""How an asset request is read: the JSON bodies' schemas, and a multipart form streamed part by
part (the file into the blob store as it arrives, the text fields around it, falling back to
the query string for old clients), its fields checked as the old backend accepted them. Split out of
``api/assets.py`` (issue 16), whose resources call :func:`read_multipart` and
:func:`upload_meta`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import falcon

from actorvid import jsonsafe
from actorvid.api.context import AppContext
from actorvid.api.operations import BOOL, INT, STR_OR_NULL, ref
from actorvid.api.validation import Field, Schema, query_str
from actorvid.errors import BadRequest, PayloadTooLarge, ValidationFailed
from actorvid.ingest import AssetIngestor, Received
from actorvid.ingest.checks import check_references
from actorvid.jsonsafe import JSONRejected
from actorvid.media.magic import ASSET_TYPES

# The JSON bodies (a URL import, a bulk import, the unified upload endpoint).
_TAGS = Field("tags", "array", nullable=True, max_items=100,
              items=Field("tag", "string", max_length=200))
_REFS = (Field("clientId", "string", nullable=True, max_length=64),
         Field("campaignId", "string", nullable=True, max_length=64))

ASSET_FROM_URL = Schema((
    Field("name", "string", required=True, min_length=1, max_length=255),
    Field("type", "string", required=True, enum=ASSET_TYPES),
    Field("url", "string", required=True, min_length=1, max_length=4096),
    *_REFS,
    _TAGS,
), name="AssetFromUrlRequest")

BULK_ITEM = Schema((
    Field("name", "string", required=True, min_length=1, max_length=255),
    Field("type", "string", required=True, enum=ASSET_TYPES),
    Field("url", "string", required=True, min_length=1, max_length=4096),
    _TAGS,
), name="BulkAssetItem")

ASSETS_FROM_URLS = Schema((
    Field("assets", "array", required=True, items=Field("asset", "object")),
    *_REFS,
), name="AssetsFromUrlsRequest")

UNIFIED_JSON = Schema((
    Field("uploadType", "string", enum=("file", "url"), default="url"),
    Field("name", "string", nullable=True, min_length=1, max_length=255),
    Field("type", "string", nullable=True, enum=ASSET_TYPES),
    Field("url", "string", nullable=True, max_length=4096),
    Field("sourceUrl", "string", nullable=True, max_length=4096),
    *_REFS,
    _TAGS,
    Field("generateThumbnail", "boolean", default=True),
), name="UnifiedAssetRequest")


def multipart_schema() -> dict[str, Any]:
    """The multipart form of an upload (the file part and the fields around it)."""
    return {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "name": {"type": "string", "maxLength": 255},
        "type": {"type": "string", "enum": list(ASSET_TYPES)},
        "clientId": {"type": "string", "maxLength": 64},
        "campaignId": {"type": "string", "maxLength": 64},
        "tags": {"type": "string", "description": "a JSON array of strings, or one tag"},
    }}


MULTIPART_OVERHEAD = 1024 * 1024  # form fields and boundaries on top of the file itself
MAX_FIELD_CHARS = 10_000
# The file part is read in pieces of this size; Falcon's multipart reader scans each for the
# boundary, so larger pieces cost less per byte (50 MiB: 70 ms of CPU at 64 KiB, 56 ms at
# 256 KiB, measured in process); the blob writer gathers them into 1 MiB chunks either way.
UPLOAD_PIECE = 256 * 1024


def _parse_tags(values: list[str], loc: list[str]) -> tuple[str, ...]:
    # The old backend: JSON text, or a bare string that becomes one tag. A JSON value that is
    # not a list of strings is refused here rather than stored to poison later reads.
    tags: list[str] = []
    for raw in values:
        raw = raw.strip()
        if not raw:
            continue
        if raw.startswith(("[", "{")):
            try:
                parsed = jsonsafe.loads(raw)
            except JSONRejected as ex:
                raise ValidationFailed.field(loc, f"tags is not valid JSON: {ex}",
                                             "json_invalid") from None
            except ValueError:
                raise ValidationFailed.field(loc, "tags must be a JSON array of strings",
                                             "json_invalid") from None
            if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
                raise ValidationFailed.field(loc, "tags must be a JSON array of strings",
                                             "list_type")
            tags.extend(parsed)
        else:
            tags.append(raw)
    if len(tags) > 100 or any(len(t) > 200 for t in tags):
        raise ValidationFailed.field(loc, "at most 100 tags of at most 200 characters",
                                     "too_long")
    return tuple(tags)


@dataclass
class FormFields:
    """Text fields of a multipart form, falling back to the query string (old clients)."""

    req: falcon.Request
    values: dict[str, list[str]] = field(default_factory=dict)

    def get(self, *names: str) -> tuple[str | None, list[str]]:
        for name in names:
            if self.values.get(name):
                value = self.values[name][0].strip()
                return (value or None), ["body", name]
        for name in names:
            from_query = query_str(self.req, name)
            if from_query is not None:
                return from_query, ["query", name]
        return None, ["body", names[0]]

    def all(self, name: str) -> tuple[list[str], list[str]]:
        if self.values.get(name):
            return self.values[name], ["body", name]
        return self.req.get_param_as_list(name) or [], ["query", name]


@dataclass(frozen=True)
class UploadMeta:
    name: str | None
    declared_type: str | None
    client_id: str | None
    campaign_id: str | None
    tags: tuple[str, ...]
    make_thumbnail: bool = True
    upload_type: str = "file"
    url: str | None = None


def upload_meta(ctx: AppContext, req: falcon.Request, form: FormFields) -> UploadMeta:
    details: list[dict[str, Any]] = []
    name, name_loc = form.get("name")
    if name is not None and len(name) > 255:
        details.append({"loc": name_loc, "msg": "name must have at most 255 characters",
                        "type": "too_long"})
    declared, type_loc = form.get("type", "assetType")
    if declared is not None and declared not in ASSET_TYPES:
        details.append({"loc": type_loc, "msg": "type must be one of: " + ", ".join(
            ASSET_TYPES), "type": "enum"})
    client_id, _ = form.get("clientId", "client_id")
    campaign_id, _ = form.get("campaignId", "campaign_id")
    upload_type, upload_loc = form.get("uploadType")
    if upload_type is not None and upload_type not in ("file", "url"):
        details.append({"loc": upload_loc, "msg": f"Invalid uploadType: {upload_type}",
                        "type": "enum"})
    thumb, thumb_loc = form.get("generateThumbnail")
    if thumb is not None and thumb.lower() not in ("true", "false", "1", "0", "yes", "no"):
        details.append({"loc": thumb_loc, "msg": "generateThumbnail must be a boolean",
                        "type": "bool_parsing"})
    url, _ = form.get("url", "sourceUrl")
    if details:
        raise ValidationFailed(details[0]["msg"], details)
    tag_values, tags_loc = form.all("tags")
    tags = _parse_tags(tag_values, tags_loc)
    client_id, campaign_id = check_references(ctx.db, req.context.scope, client_id=client_id,
                                              campaign_id=campaign_id)
    return UploadMeta(name, declared, client_id, campaign_id, tags,
                      make_thumbnail=(thumb or "true").lower() in ("true", "1", "yes"),
                      upload_type=upload_type or "file", url=url)


def _malformed() -> BadRequest:
    return BadRequest("Malformed multipart body")


def _part_pieces(part: Any) -> Iterator[bytes]:
    try:
        while True:
            piece = part.stream.read(UPLOAD_PIECE)
            if not piece:
                return
            yield piece
    except falcon.MediaMalformedError:
        raise _malformed() from None


def _part_text(part: Any) -> str:
    try:
        data = part.get_data()
    except falcon.MediaMalformedError:
        raise _malformed() from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.field(["body", part.name or ""], "must be UTF-8 text",
                                     "string_unicode") from None
    if len(text) > MAX_FIELD_CHARS:
        raise ValidationFailed.field(["body", part.name or ""], "field is too long",
                                     "too_long")
    return text


def _multipart_parts(ctx: AppContext, req: falcon.Request) -> Iterator[Any]:
    limit = ctx.settings.max_upload_bytes + MULTIPART_OVERHEAD
    if req.content_length is not None and req.content_length > limit:
        raise PayloadTooLarge(
            f"File exceeds the maximum size of {ctx.settings.max_upload_bytes} bytes")
    try:
        form = req.get_media()
        yield from form
    except falcon.MediaMalformedError:
        raise _malformed() from None


def is_multipart(req: falcon.Request) -> bool:
    return (req.content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


@dataclass
class MultipartUpload:
    form: FormFields
    received: Received | None = None
    filename: str | None = None
    parts: list[str] = field(default_factory=list)  # every part's name, to explain a refusal


def read_multipart(ctx: AppContext, ingestor: AssetIngestor, req: falcon.Request
                    ) -> MultipartUpload:
    """Stream the ``file`` part into a blob; collect the text fields around it."""
    upload = MultipartUpload(FormFields(req))
    try:
        for part in _multipart_parts(ctx, req):
            upload.parts.append(part.name or "")
            if part.name == "file":
                if upload.received is not None:
                    raise ValidationFailed.field(["body", "file"],
                                                 "Only one file may be uploaded at a time")
                # What is known before the file (query, earlier fields) is checked before
                # its bytes are stored; later fields are checked once the form is read.
                early = upload_meta(ctx, req, upload.form)
                upload.filename = part.filename
                upload.received = ingestor.receive(_part_pieces(part),
                                                   declared_type=early.declared_type)
            elif part.filename is not None:
                # A file under another name (``image``, ``photo``): not text, and not
                # kept; the refusal below names the part that was expected.
                for _ in _part_pieces(part):
                    pass
            elif part.name:
                upload.form.values.setdefault(part.name, []).append(_part_text(part))
    except BaseException:
        if upload.received is not None:
            ingestor.discard(upload.received)
        raise
    return upload


def parts_seen(parts: list[str]) -> str:
    if not parts:
        return "the form has no parts; send the file as the part named file"
    names = ", ".join(sorted({name or "(unnamed)" for name in parts}))
    return f"no part named file (received: {names})"


def name_from_url(url: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    name = unquote(posixpath.basename(path)).strip()
    return name[:255] or None


def bulk_result_schema() -> dict[str, Any]:
    """The answer to a bulk URL import: one result per item, and the counts."""
    item = {"type": "object", "required": ["asset", "success", "error"],
            "properties": {"asset": {"oneOf": [ref("Asset"), {"type": "null"}]},
                           "success": BOOL, "error": STR_OR_NULL}}
    return {"type": "object", "required": ["results", "summary"], "properties": {
        "results": {"type": "array", "items": item},
        "summary": {"type": "object", "required": ["total", "successful", "failed"],
                    "properties": {"total": INT, "successful": INT, "failed": INT}}}}
