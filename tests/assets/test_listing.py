"""Listing assets: filters, true totals, pagination, per-campaign lists, ownership."""

from __future__ import annotations

import pytest
import requests

from actorvid.api.validation import camel_case

from .conftest import Media, make_campaign, upload

API = "/api/v3/assets"


@pytest.fixture
def library(live_server, user, other_user, media: Media) -> dict[str, str]:
    client_id, campaign_id = make_campaign(live_server, user)
    ids = {}
    for name, fields in (("image.png", {"campaignId": campaign_id}),
                         ("image.jpg", {"campaignId": campaign_id}),
                         ("audio.mp3", {"campaignId": campaign_id}),
                         ("video.mp4", {"clientId": client_id}),
                         ("doc.pdf", {})):
        resp = upload(live_server, user, name, media.bytes(name), fields=fields)
        assert resp.status_code == 201
        ids[name] = resp.json()["data"]["id"]
    upload(live_server, other_user, "theirs.png", media.bytes("image.png"))
    return {"client": client_id, "campaign": campaign_id, **ids}


def listing(live_server, user, path=API, **params) -> dict:
    resp = live_server.get(path, headers=user.headers, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_lists_only_the_callers_assets_newest_first(live_server, user, library) -> None:
    body = listing(live_server, user)
    assert body["meta"]["total"] == 5
    names = [a["name"] for a in body["data"]]
    assert names == ["doc.pdf", "video.mp4", "audio.mp3", "image.jpg", "image.png"]
    assert body["error"] is None


@pytest.mark.parametrize("spell", [str, camel_case], ids=["snake_case", "camelCase"])
def test_filters(live_server, user, library, spell) -> None:
    def filtered(**params: str) -> dict:
        return listing(live_server, user, **{spell(k): v for k, v in params.items()})

    images = filtered(asset_type="image")
    assert {a["format"] for a in images["data"]} == {"png", "jpeg"}
    assert images["meta"]["total"] == 2
    campaign = filtered(campaign_id=library["campaign"])
    assert campaign["meta"]["total"] == 3
    client = filtered(client_id=library["client"])
    assert client["meta"]["total"] == 4  # the campaign's three, and the client-level video
    both = filtered(campaign_id=library["campaign"], asset_type="audio")
    assert [a["format"] for a in both["data"]] == ["mp3"]
    path = f"/api/v3/campaigns/{library['campaign']}/assets"
    assert listing(live_server, user, path, **{spell("asset_type"): "audio"})["meta"][
        "total"] == 1


def test_pagination_reports_the_true_total(live_server, user, library) -> None:
    page = listing(live_server, user, limit=2, offset=2)
    assert page["meta"]["total"] == 5
    assert page["meta"]["page"] == 2
    assert len(page["data"]) == 2
    assert listing(live_server, user, limit=2, offset=4)["data"][0]["name"] == "image.png"


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1001"}, {"offset": "-1"},
                                    {"limit": "x"}, {"asset_type": "photo"}])
def test_bad_list_parameters_are_422(live_server, user, params) -> None:
    resp = live_server.get(API, headers=user.headers, params=params)
    assert resp.status_code == 422
    assert resp.json()["meta"]["code"] == "validation_failed"


def test_admin_sees_all(live_server, admin, library) -> None:
    assert listing(live_server, admin)["meta"]["total"] == 6


def test_asset_object_shape(live_server, user, library) -> None:
    asset = live_server.get(f"{API}/{library['video.mp4']}", headers=user.headers).json()["data"]
    assert list(asset)[:13] == ["id", "userId", "clientId", "campaignId", "name", "url", "size",
                                "uploadedAt", "tags", "thumbnailBlobId", "sourceUrl", "type",
                                "format"]
    assert asset["uploadedAt"].endswith("Z")
    assert isinstance(asset["duration"], int)
    assert asset["thumbnailUrl"] == f"{API}/{asset['id']}/thumbnail"
    audio = live_server.get(f"{API}/{library['audio.mp3']}", headers=user.headers).json()
    assert audio["data"]["waveformUrl"] is None and "width" not in audio["data"]
    doc = live_server.get(f"{API}/{library['doc.pdf']}", headers=user.headers).json()["data"]
    assert (doc["type"], doc["pageCount"]) == ("document", None)


def test_campaign_assets_route(live_server, user, other_user, library) -> None:
    path = f"/api/v3/campaigns/{library['campaign']}/assets"
    body = listing(live_server, user, path)
    assert body["meta"]["total"] == 3
    assert {a["campaignId"] for a in body["data"]} == {library["campaign"]}
    assert listing(live_server, user, path, asset_type="image", limit=1)["meta"]["total"] == 2
    resp = live_server.get(path, headers=other_user.headers)
    assert resp.status_code == 404
    assert resp.json()["error"] == "Campaign not found"


def test_unknown_asset_is_404(live_server, user) -> None:
    resp = live_server.get(f"{API}/nope", headers=user.headers)
    assert resp.status_code == 404
    assert resp.json() == {"data": None, "error": "Asset not found", "meta": resp.json()["meta"]}
    assert requests.get(live_server.url + f"{API}/nope/data", headers=user.headers,
                        timeout=30).status_code == 404
