"""The description itself: complete, no phantom routes, valid OpenAPI 3.1, true to the code."""

from __future__ import annotations

import re

import falcon
import falcon.testing
import pytest
from openapi_spec_validator import validate

from actorvid.api import components, openapi
from actorvid.api.context import AppContext
from actorvid.api.operations import Op, described
from actorvid.app import build_app


@pytest.fixture
def live_app(live_ctx: AppContext) -> falcon.App:
    return build_app(live_ctx)


def test_every_served_route_is_described_and_no_other(app: falcon.App, live_app: falcon.App
                                                     ) -> None:
    # Both configurations: without actors (API-only) and with them (debug route present).
    for candidate in (app, live_app):
        undocumented = openapi.check_table(candidate)
        assert undocumented == set(), f"routes without an operation: {sorted(undocumented)}"
    served = openapi.served_operations(live_app)
    assert ("/api/v3/debug/actors", "GET") in served
    assert ("/api/auth/api-keys/{key_id}", "DELETE") in served  # converter stripped


def test_the_check_notices_a_new_route(app: falcon.App) -> None:
    class Extra:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {}

    app.add_route("/api/v3/brand-new", Extra())
    undocumented = openapi.check_table(app)
    assert undocumented == {("/api/v3/brand-new", "GET")}
    doc = openapi.build_description(app)
    assert doc["paths"]["/api/v3/brand-new"]["get"]["tags"] == ["undocumented"]


def test_an_operation_is_read_from_its_responder(app: falcon.App) -> None:
    class Described:
        @described(Op("The new thing", ("new",)), method="GET")
        @described(Op("The new thing's headers", ("new",)), method="HEAD")
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {}

        on_head = on_get

        @described(Op("Under its other name", ("new",)), path="/api/v3/also-new")
        @described(Op("Replace the new thing", ("new",)))
        def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {}

    app.add_route("/api/v3/brand-new", Described())
    app.add_route("/api/v3/also-new", Described())

    assert openapi.check_table(app) == set()
    paths = openapi.build_description(app)["paths"]
    assert paths["/api/v3/brand-new"]["get"]["summary"] == "The new thing"
    assert paths["/api/v3/brand-new"]["head"]["summary"] == "The new thing's headers"
    assert paths["/api/v3/brand-new"]["put"]["summary"] == "Replace the new thing"
    assert paths["/api/v3/also-new"]["put"]["summary"] == "Under its other name"


def test_the_served_description_validates(client: falcon.testing.TestClient) -> None:
    resp = client.simulate_get(openapi.OPENAPI_PATH)  # no credentials: it is public
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    doc = resp.json
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["cookie"]["in"] == "cookie" and schemes["cookie"]["name"] == "access_token"
    assert schemes["accessToken"]["in"] == "query" and schemes["accessToken"]["name"] == "token"
    data = doc["paths"]["/api/v3/assets/{asset_id}/data"]["get"]
    assert {"accessToken": []} in data["security"]
    assert {"accessToken": []} not in doc["paths"]["/api/v3/clients"]["get"]["security"]
    assert doc["paths"]["/health"]["get"]["security"] == []


def test_request_schemas_are_the_validation_schemas(client: falcon.testing.TestClient
                                                    ) -> None:
    from actorvid.api import campaigns, clients, job_requests

    doc = client.simulate_get(openapi.OPENAPI_PATH).json
    post = doc["paths"]["/api/v3/clients"]["post"]["requestBody"]["content"]["application/json"]
    assert post["schema"] == clients.CLIENT.json_schema()
    put = doc["paths"]["/api/v3/campaigns/{campaign_id}"]["put"]["requestBody"]["content"]
    assert put["application/json"]["schema"] == campaigns.CAMPAIGN.as_partial().json_schema()
    pairs = doc["paths"]["/api/v3/jobs/from-image-pairs"]["post"]["requestBody"]["content"]
    assert pairs["application/json"]["schema"] == job_requests.IMAGE_PAIRS.json_schema()


def test_errors_are_described_with_the_envelope(client: falcon.testing.TestClient) -> None:
    doc = client.simulate_get(openapi.OPENAPI_PATH).json
    op = doc["paths"]["/api/v3/jobs/{job_id}"]["get"]
    assert op["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert set(doc["components"]["schemas"]["Error"]["required"]) == {"data", "error", "meta"}


def test_components_list_exactly_the_serializers_keys() -> None:
    # Property names come from the serializers; every one must have a declared type, and
    # a type declared for a key the serializer no longer emits is drift.
    for name, keys in components.serializer_keys().items():
        declared = set(components.PROPERTY_TYPES[name])
        assert set(keys) - declared == set(), f"{name}: keys without a type"
        assert declared - set(keys) == set(), f"{name}: types for keys never emitted"


def test_docs_page_is_public_and_self_contained(client: falcon.testing.TestClient) -> None:
    resp = client.simulate_get(openapi.DOCS_PATH)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    # No third-party assets: everything the page loads comes from us, and the CSP forbids
    # anything else (so Swagger UI cannot phone a validator or a CDN either).
    assert "http://" not in resp.text and "https://" not in resp.text
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    loaded = re.findall(r'(?:src|href)="([^"]+)"', resp.text)
    assert sorted(loaded) == sorted(f"{openapi.DOCS_PATH}/static/{name}"
                                    for name in openapi.DOCS_FILES)
    for path in loaded:
        asset = client.simulate_get(path)
        assert asset.status_code == 200 and len(asset.content) > 20, path
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css"))
    assert "/api/openapi.json" in client.simulate_get(
        f"{openapi.DOCS_PATH}/static/docs.js").text
    assert client.simulate_get(f"{openapi.DOCS_PATH}/static/..%2Fdocs.html").status_code == 404
    assert client.simulate_get(f"{openapi.DOCS_PATH}/static/index.html").status_code == 404
