"""``/api/v3/clients``: the brands a user works for."""

from __future__ import annotations

from typing import Any

import falcon

from actorvid.api.answers import answer_cache, answer_key, send_and_keep, send_kept
from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page, page_meta
from actorvid.api.operations import BODY, COMMON, PAGE, Op, described, list_of, message, ref, stats
from actorvid.api.validation import Field, Schema, pagination, read_json
from actorvid.errors import NotFound, ValidationFailed
from actorvid.store import campaigns as campaign_store
from actorvid.store import clients as client_store
from actorvid.store.clients import Client

_STRINGS = Field("", "array", items=Field("item", "string", max_length=2000), max_items=100)

BRAND_GUIDELINES = Schema((
    Field("colors", "array", nullable=True, items=_STRINGS.items, max_items=100),
    Field("fonts", "array", nullable=True, items=_STRINGS.items, max_items=100),
    Field("tone", "string", nullable=True, max_length=2000),
    Field("restrictions", "array", nullable=True, items=_STRINGS.items, max_items=100),
    Field("examples", "array", nullable=True, items=_STRINGS.items, max_items=100),
), name="BrandGuidelines")

CLIENT = Schema((
    Field("name", "string", required=True, min_length=1, max_length=255),
    Field("description", "string", nullable=True, max_length=10_000),
    Field("homepage", "string", nullable=True, max_length=2048),
    Field("brandGuidelines", "object", nullable=True, schema=BRAND_GUIDELINES),
    Field("metadata", "object", nullable=True),
), name="ClientRequest")


def client_json(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "description": client.description,
        "homepage": client.homepage,
        "brandGuidelines": client.brand_guidelines,
        "metadata": client.metadata,
        "createdAt": client.created_at,
        "updatedAt": client.updated_at,
    }


def _guidelines(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # All five keys are stored, unspecified ones null, as the old backend did.
    if value is None:
        return None
    return {key: value.get(key) for key in ("colors", "fonts", "tone", "restrictions",
                                            "examples")}


def _columns(body: dict[str, Any]) -> dict[str, Any]:
    mapping = {"name": "name", "description": "description", "homepage": "homepage",
               "brandGuidelines": "brand_guidelines", "metadata": "metadata"}
    out = {mapping[k]: v for k, v in body.items() if k in mapping}
    if "brand_guidelines" in out:
        out["brand_guidelines"] = _guidelines(out["brand_guidelines"])
    if "metadata" in out and not out["metadata"]:
        out["metadata"] = None
    if "name" in out and out["name"] is not None:
        out["name"] = out["name"].strip()
    if "description" in out and out["description"] is None:
        out["description"] = ""
    return out


def load_client(ctx: AppContext, req: falcon.Request, client_id: str) -> Client:
    with ctx.db.read() as conn:
        client = client_store.get_client(conn, client_id, scope=req.context.scope)
    if client is None:
        raise NotFound("Client not found")
    return client


class ClientCollection:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.answers = answer_cache(ctx.services, ctx.settings.answer_cache_bytes)

    @described(Op("List the caller's clients", ("clients",), list_of("Client"),
                    page=True, params=PAGE, errors=(401, 422)))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = pagination(req)
        with self.ctx.db.read() as conn:
            stamp = self.ctx.stamps.table_stamp(conn, "clients", scope=req.context.scope)
            if not_modified(req, resp, stamp):
                return
            # The stamp changes with any of the caller's clients (api/answers.py).
            key = answer_key(req, stamp, limit, offset)
            if send_kept(resp, self.answers, key):
                return
            clients, total = client_store.list_clients(conn, scope=req.context.scope,
                                                       limit=limit, offset=offset)
        send_and_keep(resp, self.answers, key, [client_json(c) for c in clients],
                      **page_meta(total=total, limit=limit, offset=offset))

    @described(Op("Create a client", ("clients",), ref("Client"), status=201,
                    body=CLIENT, errors=(401, *BODY)))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _columns(read_json(req, CLIENT, max_bytes=self.ctx.settings.max_json_bytes))
        with self.ctx.db.write() as conn:
            client = client_store.create_client(
                conn, client_id=self.ctx.new_id(), user_id=req.context.user.id,
                name=body["name"], description=body.get("description") or "",
                homepage=body.get("homepage"), brand_guidelines=body.get("brand_guidelines"),
                metadata=body.get("metadata"), now=self.ctx.now())
        resp.location = f"/api/v3/clients/{client.id}"
        ok(resp, client_json(client), status=falcon.HTTP_201)


class ClientItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op("Get a client", ("clients",), ref("Client")))
    def on_get(self, req: falcon.Request, resp: falcon.Response, client_id: str) -> None:
        ok(resp, client_json(load_client(self.ctx, req, client_id)))

    @described(Op(
        "Update a client (absent keys stay unchanged)", ("clients",), ref("Client"),
        body=CLIENT.as_partial(), errors=(*COMMON, *BODY)), method="PUT")
    @described(Op(
        "Update a client (same as PUT)", ("clients",), ref("Client"),
        body=CLIENT.as_partial(), errors=(*COMMON, *BODY)), method="PATCH")
    def on_put(self, req: falcon.Request, resp: falcon.Response, client_id: str) -> None:
        changes = _columns(read_json(req, CLIENT.as_partial(),
                                     max_bytes=self.ctx.settings.max_json_bytes))
        if "name" in changes and changes["name"] is None:
            raise ValidationFailed.field(["body", "name"], "name may not be null", "null")
        with self.ctx.db.write() as conn:
            client = client_store.update_client(conn, client_id, changes,
                                                scope=req.context.scope, now=self.ctx.now())
        if client is None:
            raise NotFound("Client not found")
        ok(resp, client_json(client))

    on_patch = on_put

    @described(Op("Delete a client", ("clients",), message()))
    def on_delete(self, req: falcon.Request, resp: falcon.Response, client_id: str) -> None:
        with self.ctx.db.write() as conn:
            deleted = client_store.delete_client(conn, client_id, scope=req.context.scope)
        if not deleted:
            raise NotFound("Client not found")
        ok(resp, {"message": "Client deleted successfully"})

    @described(Op(
        "Campaign and video counts and spend of a client", ("clients",),
        stats("campaignCount", "videoCount", "totalSpend")))
    def on_get_stats(self, req: falcon.Request, resp: falcon.Response, client_id: str) -> None:
        client = load_client(self.ctx, req, client_id)
        with self.ctx.db.read() as conn:
            ok(resp, client_store.client_stats(conn, client.id))

    @described(Op(
        "A client's campaigns", ("clients", "campaigns"), list_of("Campaign"), page=True,
        params=PAGE, errors=(*COMMON, 422)))
    def on_get_campaigns(self, req: falcon.Request, resp: falcon.Response, client_id: str
                         ) -> None:
        from actorvid.api.campaigns import campaign_json

        client = load_client(self.ctx, req, client_id)
        limit, offset = pagination(req)
        with self.ctx.db.read() as conn:
            campaigns, total = campaign_store.list_campaigns(
                conn, scope=req.context.scope, limit=limit, offset=offset, client_id=client.id)
        ok_page(resp, [campaign_json(c) for c in campaigns], total=total, limit=limit,
                offset=offset)
