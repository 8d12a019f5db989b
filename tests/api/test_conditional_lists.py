"""Lists answer If-None-Match with 304 until a row of the caller's changes."""

from __future__ import annotations

import pytest

from actorvid.clock import now_iso
from tests.conftest import wait_until


def _get(client, user, path, tag=None):
    headers = dict(user.headers)
    if tag:
        headers["If-None-Match"] = tag
    return client.simulate_get(path, headers=headers)


def _fresh_tag(client, user, path) -> str:
    resp = _get(client, user, path)
    assert resp.status_code == 200
    tag = resp.headers["ETag"]
    again = _get(client, user, path, tag)
    assert again.status_code == 304 and again.content == b""
    return tag


@pytest.mark.parametrize("path", ["/api/v3/clients", "/api/v3/campaigns", "/api/v3/assets",
                                  "/api/v3/jobs"])
def test_lists_stay_304_until_a_change(client, user, other_user, path):
    client.simulate_post("/api/v3/clients", headers=user.headers, json={"name": "Acme"})
    tag = _fresh_tag(client, user, path)
    # Another user's rows are not in this list, and do not change its tag...
    client.simulate_post("/api/v3/clients", headers=other_user.headers, json={"name": "B"})
    assert _get(client, user, path, tag).status_code == 304
    # ...and that user's own list has its own tag.
    assert _get(client, other_user, path, tag).status_code == 200


def test_client_list_tag_follows_create_update_delete(client, user):
    path = "/api/v3/clients"
    tag = _fresh_tag(client, user, path)
    made = client.simulate_post(path, headers=user.headers, json={"name": "Acme"}).json["data"]
    changed = _get(client, user, path, tag)
    assert changed.status_code == 200 and changed.json["data"][0]["id"] == made["id"]
    tag = _fresh_tag(client, user, path)
    # Stamps have millisecond precision (documented): the edit lands in a later millisecond.
    created = now_iso()
    wait_until(lambda: now_iso() != created, message="the next millisecond")
    assert client.simulate_patch(f"{path}/{made['id']}", headers=user.headers,
                                 json={"name": "Acme 2"}).status_code == 200
    assert _get(client, user, path, tag).status_code == 200
    tag = _fresh_tag(client, user, path)
    assert client.simulate_delete(f"{path}/{made['id']}", headers=user.headers
                                  ).status_code in (200, 204)
    gone = _get(client, user, path, tag)
    assert gone.status_code == 200 and gone.json["data"] == []
