"""POST /api/webhooks/replicate: signed, deduplicated, and only a hint to poll."""

from __future__ import annotations

import json
import time

import falcon.testing
import pytest

from actorvid.app import build_app, create_context
from actorvid.webhooks import sign_webhook

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@pytest.fixture
def hook_client(settings):
    ctx = create_context(settings.with_overrides(replicate_webhook_secret=type(
        settings.replicate_webhook_secret)(SECRET)), bootstrap=False)
    yield falcon.testing.TestClient(build_app(ctx))
    ctx.close()


def signed(body: dict, *, msg_id: str = "msg_1", when: float | None = None,
           secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(int(when if when is not None else time.time()))
    return raw, {"webhook-id": msg_id, "webhook-timestamp": stamp,
                 "webhook-signature": sign_webhook(secret, msg_id, stamp, raw),
                 "Content-Type": "application/json"}


def test_a_signed_delivery_is_accepted_once(hook_client):
    raw, headers = signed({"id": "pred123", "status": "succeeded"})
    first = hook_client.simulate_post("/api/webhooks/replicate", body=raw, headers=headers)
    assert first.status_code == 200
    assert first.json["data"] == {"received": True, "duplicate": False}
    again = hook_client.simulate_post("/api/webhooks/replicate", body=raw, headers=headers)
    assert again.json["data"]["duplicate"] is True


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "missing"])
def test_forged_or_stale_deliveries_are_refused(hook_client, tamper):
    body = {"id": "pred123", "status": "succeeded"}
    if tamper == "secret":
        raw, headers = signed(body, secret="whsec_" + "A" * 43 + "=")
    elif tamper == "stale":
        raw, headers = signed(body, when=time.time() - 3600)
    else:
        raw, headers = signed(body)
    if tamper == "body":
        raw = raw.replace(b"succeeded", b"failed")
    if tamper == "missing":
        del headers["webhook-signature"]
    resp = hook_client.simulate_post("/api/webhooks/replicate", body=raw, headers=headers)
    assert resp.status_code == 401
    assert resp.json["meta"]["code"] == "unauthorized"


def test_without_a_secret_the_route_does_not_exist(client):
    raw, headers = signed({"id": "x"})
    resp = client.simulate_post("/api/webhooks/replicate", body=raw, headers=headers)
    assert resp.status_code == 404
