"""``/api/v3/assets``: upload, fetch, list, serve and delete media.

The bytes decide what an asset is (:mod:`actorvid.media.magic`); ingestion itself lives in
:mod:`actorvid.ingest` so that job code can reuse it. This module only turns requests into
calls: multipart parts are streamed into the blob store as they arrive, never buffered whole.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import posixpath
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import falcon

from actorvid import jsonsafe
from actorvid.api.binary import send_blob
from actorvid.api.campaigns import load_campaign
from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page
from actorvid.api.paths import API
from actorvid.api.validation import Field, Schema, pagination, query_enum, query_str, read_json
from actorvid.errors import (
    ActorvidError,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from actorvid.ingest import AssetIngestor, AssetSpec, Received, UrlItem, check_references
from actorvid.jsonsafe import JSONRejected
from actorvid.limits import ConcurrencySlots
from actorvid.media.magic import ASSET_TYPES
from actorvid.netfetch import DownloadFailed, UrlRefused
from actorvid.store import assets as asset_store
from actorvid.store import blobs, stamps
from actorvid.store.assets import Asset

logger = logging.getLogger(__name__)

MAX_BULK = 100
# What a client told "too many URL imports" should wait: imports end within their deadline.
URL_RETRY_AFTER = 10
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and boundaries on top of the file itself
MAX_FIELD_CHARS = 10_000
UPLOAD_PIECE = 64 * 1024

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


# --- rendering -----------------------------------------------------------------------


def data_url(asset_id: str) -> str:
    return f"{API}/assets/{asset_id}/data"


def thumbnail_url(asset: Asset) -> str | None:
    return f"{API}/assets/{asset.id}/thumbnail" if asset.thumbnail_blob_id else None


def asset_json(asset: Asset) -> dict[str, Any]:
    """The reference's asset object, keys in its order, type-specific keys last."""
    out: dict[str, Any] = {
        "id": asset.id,
        "userId": str(asset.user_id),
        "clientId": asset.client_id,
        "campaignId": asset.campaign_id,
        "name": asset.name,
        "url": data_url(asset.id),
        "size": asset.size,
        "uploadedAt": asset.uploaded_at,
        "tags": list(asset.tags),
        "thumbnailBlobId": asset.thumbnail_blob_id,
        "sourceUrl": asset.source_url,
        "type": asset.asset_type,
        "format": asset.format,
        "contentType": asset.content_type,
    }
    # The old contract's ints (0 when unknown); the exact duration alongside.
    duration = {"duration": int(round(asset.duration or 0)),
                "durationSeconds": asset.duration}
    if asset.asset_type == "image":
        out.update(width=asset.width or 0, height=asset.height or 0,
                   thumbnailUrl=thumbnail_url(asset))
    elif asset.asset_type == "video":
        out.update(width=asset.width or 0, height=asset.height or 0, **duration,
                   thumbnailUrl=thumbnail_url(asset) or "")
    elif asset.asset_type == "audio":
        out.update(**duration, waveformUrl=None)
    else:
        out.update(pageCount=None, thumbnailUrl=None)
    return out


def _download_name(asset: Asset, suffix: str = "", extension: str | None = None) -> str:
    """The asset's name with exactly one extension, one that fits its bytes.

    ``photo0.jpg`` holding JPEG stays ``photo0.jpg`` (not ``photo0.jpg.jpeg``); a media
    extension that lies (``photo.png`` holding JPEG) is replaced by the format's; a name
    without one gets the format's.
    """
    stem, dot, current = asset.name.rpartition(".")
    if not (dot and stem and _is_extension(current, asset.format)):
        stem, current = asset.name, ""  # no extension, or a dot that is part of the name
    if extension is None:
        extension = current if _fits(current, asset) else asset.format
    return f"{stem}{suffix}.{extension}"


def _is_extension(text: str, fmt: str) -> bool:
    return text.lower() == fmt.lower() or mimetypes.guess_type(f"x.{text}")[0] is not None


def _fits(extension: str, asset: Asset) -> bool:
    # jpg, jpe and jpeg all name JPEG: the uploader's spelling is kept.
    return bool(extension) and (
        extension.lower() == asset.format.lower()
        or f".{extension.lower()}" in mimetypes.guess_all_extensions(asset.content_type))


def load_asset(ctx: AppContext, req: falcon.Request, asset_id: str) -> Asset:
    with ctx.db.read() as conn:
        asset = asset_store.get_asset(conn, asset_id, scope=req.context.scope)
    if asset is None:
        raise NotFound("Asset not found")
    return asset


# --- request parsing -----------------------------------------------------------------


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


def _upload_meta(ctx: AppContext, req: falcon.Request, form: FormFields) -> UploadMeta:
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


def _is_multipart(req: falcon.Request) -> bool:
    return (req.content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


@dataclass
class MultipartUpload:
    form: FormFields
    received: Received | None = None
    filename: str | None = None
    parts: list[str] = field(default_factory=list)  # every part's name, to explain a refusal


def _read_multipart(ctx: AppContext, ingestor: AssetIngestor, req: falcon.Request
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
                early = _upload_meta(ctx, req, upload.form)
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


def _parts_seen(parts: list[str]) -> str:
    if not parts:
        return "the form has no parts; send the file as the part named file"
    names = ", ".join(sorted({name or "(unnamed)" for name in parts}))
    return f"no part named file (received: {names})"


def _name_from_url(url: str) -> str | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    name = unquote(posixpath.basename(path)).strip()
    return name[:255] or None


# --- resources -----------------------------------------------------------------------


@contextlib.contextmanager
def url_import(ctx: AppContext, req: falcon.Request) -> Iterator[float]:
    """A URL-import slot for the caller, and the request's deadline (monotonic).

    A URL import holds its request thread until its deadline at worst: the slots (one set
    for every route that fetches URLs in the request: the asset imports and standard jobs)
    bound how many threads that can be, in all and per user, so the rest of the API keeps
    answering.
    """
    slots = ctx.services.get("url_requests")
    if slots is None:
        slots = ctx.services.setdefault("url_requests", ConcurrencySlots(
            ctx.settings.max_url_requests, ctx.settings.max_url_requests_per_user,
            busy_message="Too many URL imports at once; try again shortly",
            retry_after=URL_RETRY_AFTER))
    release = slots.acquire(req.context.user.id)
    try:
        yield time.monotonic() + ctx.settings.ingest_deadline_seconds
    finally:
        release()


def _assets_unchanged(conn: sqlite3.Connection, req: falcon.Request, resp: falcon.Response
                      ) -> bool:
    """Answer 304 to a listing the caller already holds. Assets are never updated in place:
    uploads and deletions (the count, the newest ``uploaded_at``) are what change a list."""
    return not_modified(req, resp, stamps.table_stamp(conn, "assets", scope=req.context.scope,
                                                      stamp_column="uploaded_at"))


class AssetCollection:
    def __init__(self, ctx: AppContext, ingestor: AssetIngestor) -> None:
        self.ctx = ctx
        self.ingestor = ingestor

    def _url_import(self, req: falcon.Request) -> contextlib.AbstractContextManager[float]:
        return url_import(self.ctx, req)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = pagination(req)
        asset_type = query_enum(req, "asset_type", ASSET_TYPES)
        with self.ctx.db.read() as conn:
            if _assets_unchanged(conn, req, resp):
                return
            assets, total = asset_store.list_assets(
                conn, scope=req.context.scope, limit=limit, offset=offset,
                client_id=query_str(req, "client_id"),
                campaign_id=query_str(req, "campaign_id"), asset_type=asset_type)
        ok_page(resp, [asset_json(a) for a in assets], total=total, limit=limit,
                offset=offset)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Multipart upload: part ``file``; metadata from form fields or the query string."""
        if not _is_multipart(req):
            raise UnsupportedMediaType("Content-Type must be multipart/form-data")
        self._created(resp, self._from_multipart(req, allow_url=False))

    def on_post_unified(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Multipart with a ``file`` and flat fields, or JSON with a ``url``."""
        if _is_multipart(req):
            self._created(resp, self._from_multipart(req, allow_url=True))
            return
        body = read_json(req, UNIFIED_JSON, max_bytes=self.ctx.settings.max_json_bytes)
        if body["uploadType"] == "file":
            raise ValidationFailed.field(["body", "file"], "File is required for file upload "
                                         "type", "missing")
        url = body.get("url") or body.get("sourceUrl")
        if not url:
            raise ValidationFailed.field(["body", "url"], "sourceUrl is required for URL "
                                         "upload type", "missing")
        client_id, campaign_id = check_references(
            self.ctx.db, req.context.scope, client_id=body.get("clientId"),
            campaign_id=body.get("campaignId"))
        spec = AssetSpec(user_id=req.context.user.id,
                         name=body.get("name") or _name_from_url(url),
                         declared_type=body.get("type"), client_id=client_id,
                         campaign_id=campaign_id, tags=tuple(body.get("tags") or ()),
                         make_thumbnail=body["generateThumbnail"])
        loc = ("body", "url") if body.get("url") else ("body", "sourceUrl")
        with self._url_import(req) as deadline:
            self._created(resp, self.ingestor.ingest_url(url, spec, loc=loc, deadline=deadline))

    def on_post_from_url(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, ASSET_FROM_URL, max_bytes=self.ctx.settings.max_json_bytes)
        client_id, campaign_id = check_references(
            self.ctx.db, req.context.scope, client_id=body.get("clientId"),
            campaign_id=body.get("campaignId"))
        spec = AssetSpec(user_id=req.context.user.id, name=body["name"].strip(),
                         declared_type=body["type"], client_id=client_id,
                         campaign_id=campaign_id, tags=tuple(body.get("tags") or ()))
        with self._url_import(req) as deadline:
            self._created(resp, self.ingestor.ingest_url(body["url"], spec, deadline=deadline))

    def on_post_from_urls(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, ASSETS_FROM_URLS, max_bytes=self.ctx.settings.max_json_bytes)
        items = body["assets"]
        if not items:
            raise ValidationFailed.field(["body", "assets"], "No assets provided", "too_short")
        if len(items) > MAX_BULK:
            raise ValidationFailed.field(["body", "assets"], "Maximum 100 assets allowed per "
                                         "bulk upload", "too_long")
        client_id, campaign_id = check_references(
            self.ctx.db, req.context.scope, client_id=body.get("clientId"),
            campaign_id=body.get("campaignId"))
        user_id = req.context.user.id
        results: list[dict[str, Any] | None] = [None] * len(items)
        fetches: list[tuple[int, UrlItem]] = []
        for index, item in enumerate(items):
            try:
                clean = BULK_ITEM.validate(item, loc=("body", "assets", index))
            except ValidationFailed as exc:
                results[index] = _bulk_failure(exc)
                continue
            spec = AssetSpec(user_id=user_id, name=clean["name"].strip(),
                             declared_type=clean["type"], client_id=client_id,
                             campaign_id=campaign_id, tags=tuple(clean.get("tags") or ()))
            fetches.append((index, UrlItem(clean["url"], spec,
                                           ("body", "assets", index, "url"))))
        # One deadline for the whole batch; the fair fetch pool bounds how many of this
        # user's URLs download at once.
        with self._url_import(req) as deadline:
            outcomes = self.ingestor.ingest_urls([item for _, item in fetches],
                                                 deadline=deadline)
        for (index, _), outcome in zip(fetches, outcomes, strict=True):
            results[index] = (_bulk_failure(outcome) if isinstance(outcome, BaseException)
                              else {"asset": asset_json(outcome), "success": True,
                                    "error": None})
        successful = sum(1 for r in results if r and r["success"])
        ok(resp, {"results": results, "summary": {
            "total": len(results), "successful": successful,
            "failed": len(results) - successful}})

    # --- helpers ---

    def _from_multipart(self, req: falcon.Request, *, allow_url: bool) -> Asset:
        upload = _read_multipart(self.ctx, self.ingestor, req)
        received = upload.received
        try:
            meta = _upload_meta(self.ctx, req, upload.form)
            if allow_url and meta.upload_type == "url":
                if received is not None:
                    raise ValidationFailed.field(["body", "file"], "A file cannot be sent "
                                                 "with uploadType url")
                if not meta.url:
                    raise ValidationFailed.field(["body", "url"], "sourceUrl is required for "
                                                 "URL upload type", "missing")
                spec = self._spec(req, meta, meta.name or _name_from_url(meta.url))
                with self._url_import(req) as deadline:
                    return self.ingestor.ingest_url(meta.url, spec, deadline=deadline)
            if received is None:
                explained = f"file is required: {_parts_seen(upload.parts)}"
                # /unified keeps the old backend's sentence as the error; details say more.
                raise ValidationFailed.field(
                    ["body", "file"], explained, "missing",
                    message="File is required for file upload type" if allow_url else None)
        except BaseException:
            if received is not None:
                self.ingestor.discard(received)
            raise
        spec = self._spec(req, meta, meta.name or upload.filename)
        return self.ingestor.complete(received, spec)

    @staticmethod
    def _spec(req: falcon.Request, meta: UploadMeta, name: str | None) -> AssetSpec:
        return AssetSpec(user_id=req.context.user.id, name=(name or "")[:255] or None,
                         declared_type=meta.declared_type, client_id=meta.client_id,
                         campaign_id=meta.campaign_id, tags=meta.tags,
                         make_thumbnail=meta.make_thumbnail)

    @staticmethod
    def _created(resp: falcon.Response, asset: Asset) -> None:
        resp.location = f"{API}/assets/{asset.id}"
        ok(resp, asset_json(asset), status=falcon.HTTP_201)


def _bulk_failure(exc: BaseException) -> dict[str, Any]:
    """One failed item of a bulk import, as the old backend reported it."""
    if isinstance(exc, UrlRefused | DownloadFailed):
        error = f"Failed to download: {exc.reason}"
    elif isinstance(exc, ActorvidError) and exc.status < 500:
        error = exc.message
    else:
        logger.error("a bulk asset item failed", exc_info=exc)
        error = "Processing failed"
    return {"asset": None, "success": False, "error": error}


class AssetItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, asset_id: str) -> None:
        ok(resp, asset_json(load_asset(self.ctx, req, asset_id)))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, asset_id: str) -> None:
        with self.ctx.db.write() as conn:
            deleted = asset_store.delete_asset(conn, asset_id, scope=req.context.scope)
        if not deleted:
            raise NotFound("Asset not found")
        logger.info("deleted asset %s (user %s)", asset_id, req.context.user.id)
        ok(resp, {"message": "Asset deleted successfully"})


class AssetBinary:
    """``/data`` and ``/thumbnail``: the only asset routes that take a ``?token=``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def access_token_resource(self, params: dict[str, Any]) -> str:
        return asset_store.access_resource(str(params.get("asset_id", "")))

    def on_get_data(self, req: falcon.Request, resp: falcon.Response, asset_id: str) -> None:
        asset = load_asset(self.ctx, req, asset_id)
        try:
            blob = blobs.blob_info(self.ctx.db, asset.blob_id)
        except NotFound:
            raise NotFound("Asset data not available") from None
        send_blob(req, resp, self.ctx.db, blob, content_type=asset.content_type,
                  filename=_download_name(asset))

    on_head_data = on_get_data

    def on_get_thumbnail(self, req: falcon.Request, resp: falcon.Response, asset_id: str
                         ) -> None:
        asset = load_asset(self.ctx, req, asset_id)
        if not asset.thumbnail_blob_id:
            raise NotFound("Thumbnail not available")
        try:
            blob = blobs.blob_info(self.ctx.db, asset.thumbnail_blob_id)
        except NotFound:
            raise NotFound("Thumbnail data not available") from None
        send_blob(req, resp, self.ctx.db, blob, content_type="image/jpeg",
                  filename=_download_name(asset, "_thumbnail", "jpg"))

    on_head_thumbnail = on_get_thumbnail


class CampaignAssets:
    """``/campaigns/{id}/assets``: the same asset objects, for one of the caller's campaigns."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def on_get(self, req: falcon.Request, resp: falcon.Response, campaign_id: str) -> None:
        campaign = load_campaign(self.ctx, req, campaign_id)
        limit, offset = pagination(req)
        asset_type = query_enum(req, "asset_type", ASSET_TYPES)
        with self.ctx.db.read() as conn:
            if _assets_unchanged(conn, req, resp):
                return
            assets, total = asset_store.list_assets(
                conn, scope=req.context.scope, limit=limit, offset=offset,
                campaign_id=campaign.id, asset_type=asset_type)
        ok_page(resp, [asset_json(a) for a in assets], total=total, limit=limit,
                offset=offset)


def add_asset_routes(app: falcon.App, ctx: AppContext) -> None:
    """Register every asset route (and ``/campaigns/{id}/assets``)."""
    ingestor = ctx.services.get("asset_ingestor")
    if ingestor is None:
        ingestor = AssetIngestor(ctx.db, ctx.settings, new_id=ctx.new_id, clock=ctx.clock)
        ctx.services["asset_ingestor"] = ingestor
    collection = AssetCollection(ctx, ingestor)
    app.add_route(f"{API}/assets", collection)
    app.add_route(f"{API}/assets/unified", collection, suffix="unified")
    app.add_route(f"{API}/assets/from-url", collection, suffix="from_url")
    app.add_route(f"{API}/assets/from-urls", collection, suffix="from_urls")
    app.add_route(f"{API}/assets/{{asset_id}}", AssetItem(ctx))
    binary = AssetBinary(ctx)
    app.add_route(f"{API}/assets/{{asset_id}}/data", binary, suffix="data")
    app.add_route(f"{API}/assets/{{asset_id}}/thumbnail", binary, suffix="thumbnail")
    app.add_route(f"{API}/campaigns/{{campaign_id}}/assets", CampaignAssets(ctx))
