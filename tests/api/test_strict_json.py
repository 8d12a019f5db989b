"""Strict JSON both ways: what we store and what we answer is always valid JSON (issue 14)."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from actorvid import jsonsafe
from actorvid.api.context import AppContext
from actorvid.store.models import dump_json
from tests.conftest import ApiUser


def _strict(text: str) -> object:
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the answer"))


def test_a_non_finite_number_is_never_stored() -> None:
    with pytest.raises(ValueError):
        dump_json({"duration": float("nan")})
    with pytest.raises(ValueError):
        dump_json([float("inf")])


def test_a_bad_value_already_stored_still_answers_valid_json(
        ctx: AppContext, client: falcon.testing.TestClient, user: ApiUser) -> None:
    created = client.simulate_post("/api/v3/clients", json={"name": "Acme"},
                                   headers=user.headers).json["data"]
    # As an older version could have written it.
    with ctx.db.write() as conn:
        conn.execute("UPDATE clients SET metadata = :bad WHERE id = :id",
                     {"bad": '{"score": NaN, "name": "a\\ud800"}', "id": created["id"]})
    for path in (f"/api/v3/clients/{created['id']}", "/api/v3/clients"):
        response = client.simulate_get(path, headers=user.headers)
        assert response.status_code == 200
        body = _strict(response.text)
        assert isinstance(body, dict) and body["error"] is None


def test_the_reader_names_what_it_refuses() -> None:
    cases = {"[NaN]": "NaN is not a JSON number", '{"a": 1, "a": 2}': '"a" appears twice',
             "[" * 40 + "]" * 40: "at most 32 levels", '["\\udfff"]': "lone UTF-16 surrogate"}
    for text, sentence in cases.items():
        with pytest.raises(jsonsafe.JSONRejected, match=sentence):
            jsonsafe.loads(text)
    assert jsonsafe.loads("[" * 32 + "]" * 32) is not None
