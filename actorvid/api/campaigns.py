"""``/api/v3/campaigns``: a client's campaigns."""

from __future__ import annotations

from typing import Any

import falcon

from actorvid.api.conditional import not_modified
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok, ok_page
from actorvid.api.operations import (
    BODY,
    CLIENT_FILTER,
    COMMON,
    PAGE,
    Op,
    described,
    list_of,
    message,
    param,
    ref,
    stats,
)
from actorvid.api.validation import Field, Schema, pagination, query_enum, query_str, read_json
from actorvid.errors import NotFound, ValidationFailed
from actorvid.store import campaigns as campaign_store
from actorvid.store import clients as client_store
from actorvid.store.campaigns import STATUSES, Campaign

CAMPAIGN = Schema((
    Field("clientId", "string", required=True, min_length=1, max_length=64),
    Field("name", "string", required=True, min_length=1, max_length=255),
    Field("goal", "string", required=True, max_length=10_000),
    Field("status", "string", enum=STATUSES, default="draft"),
    Field("productUrl", "string", nullable=True, max_length=2048),
    Field("brief", "object", nullable=True),
    Field("metadata", "object", nullable=True),
), name="CampaignRequest")

_COLUMNS = {"clientId": "client_id", "name": "name", "goal": "goal", "status": "status",
            "productUrl": "product_url", "brief": "brief", "metadata": "metadata"}


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "clientId": campaign.client_id,
        "name": campaign.name,
        "goal": campaign.goal,
        "status": campaign.status,
        "productUrl": campaign.product_url,
        "brief": campaign.brief,
        "metadata": campaign.metadata,
        "createdAt": campaign.created_at,
        "updatedAt": campaign.updated_at,
    }


def _columns(body: dict[str, Any]) -> dict[str, Any]:
    out = {_COLUMNS[k]: v for k, v in body.items() if k in _COLUMNS}
    if "metadata" in out and not out["metadata"]:
        out["metadata"] = None
    if out.get("name") is not None:
        out["name"] = out["name"].strip()
    return out


def load_campaign(ctx: AppContext, req: falcon.Request, campaign_id: str) -> Campaign:
    with ctx.db.read() as conn:
        campaign = campaign_store.get_campaign(conn, campaign_id, scope=req.context.scope)
    if campaign is None:
        raise NotFound("Campaign not found")
    return campaign


def _check_client(ctx: AppContext, req: falcon.Request, client_id: str) -> None:
    with ctx.db.read() as conn:
        client = client_store.get_client(conn, client_id, scope=req.context.scope)
    if client is None:
        raise ValidationFailed.field(["body", "clientId"], "Client not found", "not_found")


class CampaignCollection:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "List the caller's campaigns", ("campaigns",), list_of("Campaign"), page=True,
        params=(*CLIENT_FILTER, param("status", {"type": "string", "enum": list(STATUSES)}),
                *PAGE),
        errors=(401, 422)))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, offset = pagination(req)
        status = query_enum(req, "status", STATUSES)
        with self.ctx.db.read() as conn:
            if not_modified(req, resp, self.ctx.stamps.table_stamp(conn, "campaigns",
                                                          scope=req.context.scope)):
                return
            campaigns, total = campaign_store.list_campaigns(
                conn, scope=req.context.scope, limit=limit, offset=offset,
                client_id=query_str(req, "client_id"), status=status)
        ok_page(resp, [campaign_json(c) for c in campaigns], total=total, limit=limit,
                offset=offset)

    @described(Op("Create a campaign for one of the caller's clients", ("campaigns",),
                    ref("Campaign"), status=201, body=CAMPAIGN, errors=(401, *BODY)))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _columns(read_json(req, CAMPAIGN, max_bytes=self.ctx.settings.max_json_bytes))
        _check_client(self.ctx, req, body["client_id"])
        with self.ctx.db.write() as conn:
            campaign = campaign_store.create_campaign(
                conn, campaign_id=self.ctx.new_id(), client_id=body["client_id"],
                user_id=req.context.user.id, name=body["name"], goal=body["goal"],
                status=body["status"], product_url=body.get("product_url"),
                brief=body.get("brief"), metadata=body.get("metadata"), now=self.ctx.now())
        resp.location = f"/api/v3/campaigns/{campaign.id}"
        ok(resp, campaign_json(campaign), status=falcon.HTTP_201)


class CampaignItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op("Get a campaign", ("campaigns",), ref("Campaign")))
    def on_get(self, req: falcon.Request, resp: falcon.Response, campaign_id: str) -> None:
        ok(resp, campaign_json(load_campaign(self.ctx, req, campaign_id)))

    @described(Op(
        "Update a campaign (absent keys stay unchanged)", ("campaigns",), ref("Campaign"),
        body=CAMPAIGN.as_partial(), errors=(*COMMON, *BODY)), method="PUT")
    @described(Op(
        "Update a campaign (same as PUT)", ("campaigns",), ref("Campaign"),
        body=CAMPAIGN.as_partial(), errors=(*COMMON, *BODY)), method="PATCH")
    def on_put(self, req: falcon.Request, resp: falcon.Response, campaign_id: str) -> None:
        changes = _columns(read_json(req, CAMPAIGN.as_partial(),
                                     max_bytes=self.ctx.settings.max_json_bytes))
        for required in ("client_id", "name", "goal", "status"):
            if required in changes and changes[required] is None:
                raise ValidationFailed.field(["body", required], f"{required} may not be null",
                                             "null")
        if "client_id" in changes:
            _check_client(self.ctx, req, changes["client_id"])
        with self.ctx.db.write() as conn:
            campaign = campaign_store.update_campaign(conn, campaign_id, changes,
                                                      scope=req.context.scope,
                                                      now=self.ctx.now())
        if campaign is None:
            raise NotFound("Campaign not found")
        ok(resp, campaign_json(campaign))

    on_patch = on_put

    @described(Op("Delete a campaign", ("campaigns",), message()))
    def on_delete(self, req: falcon.Request, resp: falcon.Response, campaign_id: str) -> None:
        with self.ctx.db.write() as conn:
            deleted = campaign_store.delete_campaign(conn, campaign_id, scope=req.context.scope)
        if not deleted:
            raise NotFound("Campaign not found")
        ok(resp, {"message": "Campaign deleted successfully"})

    @described(Op(
        "Video count and spend of a campaign", ("campaigns",),
        stats("videoCount", "totalSpend", "avgCost")))
    def on_get_stats(self, req: falcon.Request, resp: falcon.Response, campaign_id: str
                     ) -> None:
        campaign = load_campaign(self.ctx, req, campaign_id)
        with self.ctx.db.read() as conn:
            ok(resp, campaign_store.campaign_stats(conn, campaign.id))
