"""The key spelling of every answer is what the README and the OpenAPI description say."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import falcon.testing
import pytest

from actorvid.api.context import AppContext
from actorvid.api.openapi import KEY_CASE, build_description
from actorvid.app import build_app
from tests.conftest import make_user

README = Path(__file__).resolve().parents[2] / "README.md"


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _schema(doc, doc["components"]["schemas"][schema["$ref"].split("/")[-1]])
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _schema(doc, part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return schema


def _data_schema(doc: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
    return _schema(doc, content["schema"]["properties"]["data"])


def assert_keys_documented(doc: dict[str, Any], schema: dict[str, Any], data: dict) -> None:
    schema = _schema(doc, schema)
    assert set(schema.get("required", [])) <= set(data), data
    assert set(data) <= set(schema["properties"]), set(data) - set(schema["properties"])


@pytest.fixture
def api(live_ctx: AppContext) -> Iterator[tuple[falcon.testing.TestClient, dict[str, Any]]]:
    app = build_app(live_ctx)
    yield falcon.testing.TestClient(app), build_description(app)


def test_auth_routes_answer_the_documented_snake_case(api, live_ctx) -> None:
    client, doc = api
    user = make_user(live_ctx, "ana")
    login = client.simulate_post("/api/auth/login",
                                 json={"username": "ana", "password": user.password})
    assert login.status_code == 200
    assert_keys_documented(doc, _data_schema(doc, "/api/auth/login", "post", "200"),
                           login.json["data"])
    created = client.simulate_post("/api/auth/api-keys", json={"name": "ci"},
                                   headers=user.headers)
    assert_keys_documented(doc, _data_schema(doc, "/api/auth/api-keys", "post", "201"),
                           created.json["data"])
    listed = client.simulate_get("/api/auth/api-keys", headers=user.headers).json["data"]
    for key in listed:
        assert_keys_documented(doc, doc["components"]["schemas"]["ApiKey"], key)
    for answer in (login.json["data"], created.json["data"], *listed):
        assert all(k == k.lower() for k in answer), answer  # snake_case, no camelCase


def test_debug_tree_answers_the_documented_snake_case(api, live_ctx) -> None:
    client, doc = api
    admin = make_user(live_ctx, "root", is_admin=True)
    resp = client.simulate_get("/api/v3/debug/actors", headers=admin.headers)
    assert resp.status_code == 200
    node_schema = doc["components"]["schemas"]["ActorNode"]
    assert _data_schema(doc, "/api/v3/debug/actors", "get", "200") == node_schema

    def walk(node: dict) -> int:
        assert_keys_documented(doc, node_schema, node)
        assert all(k == k.lower() for k in node), node
        return 1 + sum(walk(child) for child in node["children"])

    assert walk(resp.json["data"]) >= 2  # the root and its coordinator at least


def test_readme_and_description_say_the_same(api) -> None:
    _, doc = api
    plain = lambda text: re.sub(r"\s+", " ", text.replace("`", ""))  # noqa: E731
    assert plain(KEY_CASE) in plain(README.read_text())
    assert KEY_CASE in doc["info"]["description"]
