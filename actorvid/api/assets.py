"""``/api/v3/assets``: upload, fetch, list, serve and delete media.

The bytes decide what an asset is (:mod:`actorvid.media.magic`); ingestion itself lives in
:mod:`actorvid.ingest` so that job code can reuse it. This module only turns requests into
calls: multipart parts are streamed into the blob store as they arrive, never buffered whole
(the form is read in :mod:`actorvid.api.asset_forms`, an asset rendered by
:mod:`actorvid.api.asset_views`).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import falcon

from actorvid.api.asset_forms import (
    ASSET_FROM_URL,
    ASSETS_FROM_URLS,
    BULK_ITEM,
    UNIFIED_JSON,
    UploadMeta,
    bulk_result_schema,
    is_multipart,
    multipart_schema,
    name_from_url,
    parts_seen,
    read_multipart,
    upload_meta,
)
from actorvid.api.asset_views import asset_json, bulk_failure, download_name
from actorvid.api.binary import send_blob
from actorvid.api.campaigns import load_campaign
from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page
from actorvid.api.operations import (
    ASSET_TYPE_FILTER,
    BINARY_AUTH,
    BODY,
    CAMPAIGN_FILTER,
    CLIENT_FILTER,
    COMMON,
    JSON,
    PAGE,
    RANGE,
    TOKEN,
    Op,
    described,
    list_of,
    message,
    ref,
)
from actorvid.api.paths import API
from actorvid.api.validation import pagination, query_enum, query_str, read_json
from actorvid.errors import (
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from actorvid.ingest import AssetIngestor, AssetSpec, UrlItem
from actorvid.ingest.checks import check_references
from actorvid.limits import ConcurrencySlots
from actorvid.media.magic import ASSET_TYPES
from actorvid.store import assets as asset_store
from actorvid.store import blobs
from actorvid.store.assets import Asset

logger = logging.getLogger(__name__)

MAX_BULK = 100
# What a client told "too many URL imports" should wait: imports end within their deadline.
URL_RETRY_AFTER = 10

def load_asset(ctx: AppContext, req: falcon.Request, asset_id: str) -> Asset:
    with ctx.db.read() as conn:
        asset = asset_store.get_asset(conn, asset_id, scope=req.context.scope)
    if asset is None:
        raise NotFound("Asset not found")
    return asset


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


def _assets_unchanged(ctx: AppContext, conn: sqlite3.Connection, req: falcon.Request,
                      resp: falcon.Response) -> bool:
    """Answer 304 to a listing the caller already holds. Assets are never updated in place:
    uploads and deletions (the count, the newest ``uploaded_at``) are what change a list."""
    stamp = ctx.stamps.table_stamp(conn, "assets", scope=req.context.scope,
                                   stamp_column="uploaded_at")
    return not_modified(req, resp, stamp)


class AssetCollection:
    def __init__(self, ctx: AppContext, ingestor: AssetIngestor) -> None:
        self.ctx = ctx
        self.ingestor = ingestor

    def _url_import(self, req: falcon.Request) -> contextlib.AbstractContextManager[float]:
        return url_import(self.ctx, req)

    @described(Op(
        "List the caller's assets, newest first", ("assets",), list_of("Asset"), page=True,
        params=(*CLIENT_FILTER, *CAMPAIGN_FILTER, *ASSET_TYPE_FILTER, *PAGE), errors=(401, 422)))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        list_assets(self.ctx, req, resp, client_id=query_str(req, "client_id"),
                    campaign_id=query_str(req, "campaign_id"))

    @described(Op(
        "Upload a file (multipart part `file`; metadata as form fields or query)",
        ("assets",), ref("Asset"), status=201, body=multipart_schema(),
        content=("multipart/form-data",), errors=(401, *BODY)))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Multipart upload: part ``file``; metadata from form fields or the query string."""
        if not is_multipart(req):
            raise UnsupportedMediaType("Content-Type must be multipart/form-data")
        self._created(resp, self._from_multipart(req, allow_url=False))

    @described(Op(
        "Upload a file (multipart) or fetch a URL (JSON), one route for both", ("assets",),
        ref("Asset"), status=201, body=UNIFIED_JSON,
        content=(JSON, "multipart/form-data"), errors=(401, *BODY, 502)))
    def on_post_unified(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Multipart with a ``file`` and flat fields, or JSON with a ``url``."""
        if is_multipart(req):
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
                         name=body.get("name") or name_from_url(url),
                         declared_type=body.get("type"), client_id=client_id,
                         campaign_id=campaign_id, tags=tuple(body.get("tags") or ()),
                         make_thumbnail=body["generateThumbnail"])
        loc = ("body", "url") if body.get("url") else ("body", "sourceUrl")
        with self._url_import(req) as deadline:
            self._created(resp, self.ingestor.ingest_url(url, spec, loc=loc, deadline=deadline))

    @described(Op(
        "Fetch an asset from a public http(s) URL", ("assets",), ref("Asset"), status=201,
        body=ASSET_FROM_URL, errors=(401, *BODY, 502)))
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

    @described(Op(
        "Fetch up to 100 assets from URLs; per-item results", ("assets",), bulk_result_schema(),
        body={**ASSETS_FROM_URLS.json_schema(),
              "properties": {**ASSETS_FROM_URLS.json_schema()["properties"],
                             "assets": {"type": "array", "maxItems": MAX_BULK,
                                        "items": BULK_ITEM.json_schema()}}},
        errors=(401, *BODY)))
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
                results[index] = bulk_failure(exc)
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
            results[index] = (bulk_failure(outcome) if isinstance(outcome, BaseException)
                              else {"asset": asset_json(outcome), "success": True,
                                    "error": None})
        successful = sum(1 for r in results if r and r["success"])
        ok(resp, {"results": results, "summary": {
            "total": len(results), "successful": successful,
            "failed": len(results) - successful}})

    # --- helpers ---

    def _from_multipart(self, req: falcon.Request, *, allow_url: bool) -> Asset:
        upload = read_multipart(self.ctx, self.ingestor, req)
        received = upload.received
        try:
            meta = upload_meta(self.ctx, req, upload.form)
            if allow_url and meta.upload_type == "url":
                if received is not None:
                    raise ValidationFailed.field(["body", "file"], "A file cannot be sent "
                                                 "with uploadType url")
                if not meta.url:
                    raise ValidationFailed.field(["body", "url"], "sourceUrl is required for "
                                                 "URL upload type", "missing")
                spec = self._spec(req, meta, meta.name or name_from_url(meta.url))
                with self._url_import(req) as deadline:
                    return self.ingestor.ingest_url(meta.url, spec, deadline=deadline)
            if received is None:
                explained = f"file is required: {parts_seen(upload.parts)}"
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


class AssetItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op("Get an asset's metadata", ("assets",), ref("Asset")))
    def on_get(self, req: falcon.Request, resp: falcon.Response, asset_id: str) -> None:
        ok(resp, asset_json(load_asset(self.ctx, req, asset_id)))

    @described(Op("Delete an asset and its bytes", ("assets",), message()))
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

    @described(Op(
        "The asset's bytes (Range, ETag, HEAD)", ("assets",), binary="application/octet-stream",
        params=(TOKEN, RANGE), security=BINARY_AUTH, errors=(*COMMON, 416)), method="GET")
    @described(Op(
        "Headers of the asset's bytes", ("assets",), binary="application/octet-stream",
        params=(TOKEN,), security=BINARY_AUTH), method="HEAD")
    def on_get_data(self, req: falcon.Request, resp: falcon.Response, asset_id: str) -> None:
        asset = load_asset(self.ctx, req, asset_id)
        try:
            blob = blobs.blob_info(self.ctx.db, asset.blob_id)
        except NotFound:
            raise NotFound("Asset data not available") from None
        send_blob(req, resp, self.ctx.db, blob, content_type=asset.content_type,
                  filename=download_name(asset))

    on_head_data = on_get_data

    @described(Op(
        "A JPEG thumbnail of an image or video asset", ("assets",), binary="image/jpeg",
        params=(TOKEN, RANGE), security=BINARY_AUTH, errors=(*COMMON, 416)), method="GET")
    @described(Op(
        "Headers of the thumbnail", ("assets",), binary="image/jpeg", params=(TOKEN,),
        security=BINARY_AUTH), method="HEAD")
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
                  filename=download_name(asset, "_thumbnail", "jpg"))

    on_head_thumbnail = on_get_thumbnail


class CampaignAssets:
    """``/campaigns/{id}/assets``: the same asset objects, for one of the caller's campaigns."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "A campaign's assets", ("campaigns", "assets"), list_of("Asset"), page=True,
        params=(*ASSET_TYPE_FILTER, *PAGE), errors=(*COMMON, 422)))
    def on_get(self, req: falcon.Request, resp: falcon.Response, campaign_id: str) -> None:
        campaign = load_campaign(self.ctx, req, campaign_id)
        list_assets(self.ctx, req, resp, campaign_id=campaign.id)


def list_assets(ctx: AppContext, req: falcon.Request, resp: falcon.Response, *,
                client_id: str | None = None, campaign_id: str | None = None) -> None:
    """A page of the caller's assets (``asset_type`` and the page from the query), or 304
    when nothing changed since the caller's ETag."""
    limit, offset = pagination(req)
    asset_type = query_enum(req, "asset_type", ASSET_TYPES)
    with ctx.db.read() as conn:
        if _assets_unchanged(ctx, conn, req, resp):
            return
        assets, total = asset_store.list_assets(
            conn, scope=req.context.scope, limit=limit, offset=offset, client_id=client_id,
            campaign_id=campaign_id, asset_type=asset_type)
    ok_page(resp, [asset_json(a) for a in assets], total=total, limit=limit, offset=offset)


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
