"""Webhook signature verification: the documented test vector and real signed deliveries."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import falcon
import pytest

from actorvid.domain import models
from actorvid.webhooks import sign_webhook, verify_webhook
from tests.fakes.replicate import FakeReplicate
from tests.fakes.server import LoopbackServer

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
BODY = b'{"id":"abc","status":"succeeded"}'
HEADERS = {"webhook-id": "msg_2yGEvjbj5JfrCSTduf2IL4TZgFz", "webhook-timestamp": "1749452742",
           "webhook-signature": "v1,LwkhhHgE3K8KwRb9SN4mYpkSTLQhW9tMXi1qfz5oB+Y="}
NOW = 1749452742 + 10


def test_documented_vector_is_accepted() -> None:
    assert verify_webhook(SECRET, HEADERS, BODY, now=NOW)
    assert sign_webhook(SECRET, HEADERS["webhook-id"], HEADERS["webhook-timestamp"], BODY) == \
        HEADERS["webhook-signature"]


def test_one_good_signature_among_several_is_enough() -> None:
    headers = {**HEADERS, "webhook-signature": "v1,AAAA " + HEADERS["webhook-signature"]}
    assert verify_webhook(SECRET, {k.upper(): v for k, v in headers.items()}, BODY, now=NOW)


@pytest.mark.parametrize("change", ["body", "id", "signature", "secret", "missing"])
def test_forged_deliveries_are_refused(change: str) -> None:
    headers, body, secret = dict(HEADERS), BODY, SECRET
    if change == "body":
        body = BODY.replace(b"succeeded", b"failed")
    elif change == "id":
        headers["webhook-id"] = "msg_other"
    elif change == "signature":
        headers["webhook-signature"] = "v1,LwkhhHgE3K8KwRb9SN4mYpkSTLQhW9tMXi1qfz5oB+Z="
    elif change == "secret":
        secret = "whsec_" + "B" * 44
    else:
        del headers["webhook-signature"]
    assert not verify_webhook(secret, headers, body, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, 3600])
def test_stale_or_future_timestamps_are_refused(offset: int) -> None:
    assert not verify_webhook(SECRET, HEADERS, BODY, now=1749452742 + offset)


class _Receiver:
    """Our side of a webhook: verifies on raw bytes and records the verdicts."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.verdicts: list[tuple[str, bool]] = []
        self.lock = threading.Lock()

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = req.bounded_stream.read()
        ok = verify_webhook(self.secret, dict(req.headers), raw)
        with self.lock:
            self.verdicts.append((req.get_param("tag") or "", ok))
        resp.status = 204 if ok else 401


@pytest.fixture
def receiver(fake_replicate: FakeReplicate, make_client) -> Iterator[tuple[_Receiver, str]]:
    secret = make_client().webhook_secret()
    assert secret.startswith("whsec_")
    recv = _Receiver(secret)
    app = falcon.App()
    app.add_route("/hooks/replicate", recv)
    with LoopbackServer(app, name="receiver") as server:
        yield recv, server.url + "/hooks/replicate"


def test_signed_deliveries_are_accepted_end_to_end(receiver, make_client,
                                                   fake_replicate: FakeReplicate) -> None:
    recv, url = receiver
    client = make_client(webhook_url=url, webhook_events=("completed",))
    client.create(model=models.VEO_MODEL, input={"prompt": "p", "duration": 4}, tag="job-5/s1")
    assert fake_replicate.wait_for(lambda: any(d["event"] == "completed"
                                               for d in fake_replicate.deliveries), 20)
    assert ("job-5/s1", True) in recv.verdicts
    delivered = [d for d in fake_replicate.deliveries if d["event"] == "completed"]
    assert delivered[0]["status"] == 204 and b'"status":"succeeded"' in delivered[0]["body"]


@pytest.mark.parametrize("attack", ["webhook_bad_signature", "webhook_stale_timestamp"])
def test_forged_or_stale_deliveries_are_refused_end_to_end(receiver, make_client,
                                                           fake_replicate: FakeReplicate,
                                                           attack: str) -> None:
    recv, url = receiver
    setattr(fake_replicate, attack, True)
    fake_replicate.webhook_retry_delays = (0.01,)
    client = make_client(webhook_url=url, webhook_events=("completed",))
    client.create(model=models.VEO_MODEL, input={"prompt": "p", "duration": 4}, tag="evil")
    assert fake_replicate.wait_for(lambda: len(fake_replicate.deliveries) >= 2, 20)
    assert recv.verdicts and not any(ok for _, ok in recv.verdicts)
    assert all(d["status"] == 401 for d in fake_replicate.deliveries)
    # a refused delivery is retried with the same message id
    assert len({d["headers"]["webhook-id"] for d in fake_replicate.deliveries}) == 1
