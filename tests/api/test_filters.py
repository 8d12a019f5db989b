"""List filters take the old backend's snake_case names and the camelCase of our bodies."""

from __future__ import annotations

import pytest

from actorvid.api.openapi import build_description

from .test_clients_campaigns import new_campaign, new_client

# Every list route and the filters it takes (snake_case spelling).
LIST_FILTERS = {
    "/api/v3/campaigns": ("client_id",),
    "/api/v3/assets": ("client_id", "campaign_id", "asset_type"),
    "/api/v3/jobs": ("campaign_id", "client_id"),
    "/api/v3/generated-videos": ("campaign_id", "client_id"),
}
CAMEL = {"client_id": "clientId", "campaign_id": "campaignId", "asset_type": "assetType"}


@pytest.mark.parametrize("name", ["client_id", "clientId"])
def test_campaigns_filter_by_client_in_either_spelling(client, user, name):
    first, second = new_client(client, user, name="A"), new_client(client, user, name="B")
    new_campaign(client, user, first["id"], name="of A")
    new_campaign(client, user, second["id"], name="of B")
    resp = client.simulate_get("/api/v3/campaigns", params={name: second["id"]},
                               headers=user.headers)
    assert resp.status_code == 200
    assert [c["name"] for c in resp.json["data"]] == ["of B"]
    assert resp.json["meta"]["total"] == 1


@pytest.mark.parametrize(("path", "name"), [(path, name) for path, names in LIST_FILTERS.items()
                                            for name in names])
def test_both_spellings_must_agree(client, user, path, name):
    same = client.simulate_get(path, params={name: "x", CAMEL[name]: "x"},
                               headers=user.headers)
    assert same.status_code in (200, 422)  # 422 only for a value outside an enum
    differ = client.simulate_get(path, params={name: "x", CAMEL[name]: "y"},
                                 headers=user.headers)
    assert differ.status_code == 422
    assert differ.json["error"] == f"{name} and {CAMEL[name]} differ; send one of them"
    assert differ.json["meta"]["details"][0]["loc"] == ["query", name]


def test_openapi_documents_both_spellings(app):
    paths = build_description(app)["paths"]
    for path, names in LIST_FILTERS.items():
        params = {p["name"] for p in paths[path]["get"]["parameters"]}
        for name in names:
            assert {name, CAMEL[name]} <= params, (path, name)
