"""Webhook delivery: a ticker thread sends each prediction's due events (``start``,
``output``, ``completed``, as filtered) to its webhook, signed as Replicate signs them
(Standard Webhooks), retrying a refused delivery with the same message id.

What to forge (``webhook_bad_signature``, ``webhook_stale_timestamp``), the retry delays and
the record of every attempt (``deliveries``) live on :class:`FakeReplicate`, where tests set
and read them.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

import requests

from actorvid.webhooks import sign_webhook
from tests.fakes.replicate.predictions import TERMINAL, FakePrediction

if TYPE_CHECKING:
    from tests.fakes.replicate.fake import FakeReplicate


def due_events(pred: FakePrediction) -> list[str]:
    """The events ``pred`` has reached and not yet sent (each is marked sent, filtered or not)."""
    events = []
    started = pred.started is not None or pred.status in TERMINAL
    if started and "start" not in pred.sent_events:
        pred.sent_events.add("start")
        if "start" in pred.events:
            events.append("start")
    if pred.status == "succeeded" and "output" not in pred.sent_events:
        pred.sent_events.add("output")
        if "output" in pred.events:
            events.append("output")
    if pred.status in TERMINAL and "completed" not in pred.sent_events:
        pred.sent_events.add("completed")
        if "completed" in pred.events:
            events.append("completed")
    return events


class WebhookSender:
    """The ticker thread of one fake; ``stop()`` also ends any retry wait at once."""

    def __init__(self, fake: FakeReplicate) -> None:
        self.fake = fake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fake-replicate-ticker",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        fake = self.fake
        while not self._stop.wait(0.01):
            with fake.lock:
                due = []
                for pred in fake.predictions.values():
                    if not pred.webhook:
                        continue
                    fake.refresh(pred)
                    for event in due_events(pred):
                        due.append((pred, event, fake.to_json(pred)))
            for pred, event, body in due:
                self._deliver(pred, event, body)

    def _deliver(self, pred: FakePrediction, event: str, body: dict[str, Any]) -> None:
        fake = self.fake
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        msg_id = "msg_" + secrets.token_urlsafe(18)
        for attempt, delay in enumerate((0.0, *fake.webhook_retry_delays), start=1):
            if delay and self._stop.wait(delay):
                return
            ts = int(time.time()) - (3600 if fake.webhook_stale_timestamp else 0)
            secret = fake.webhook_secret
            if fake.webhook_bad_signature:
                secret = "whsec_" + base64.b64encode(b"forged" * 6).decode()
            headers = {"Content-Type": "application/json",
                       "User-Agent": "Webhooks/1.66.0 (sender-fake)",
                       "webhook-id": msg_id, "webhook-timestamp": str(ts),
                       "webhook-signature": sign_webhook(secret, msg_id, ts, raw)}
            record: dict[str, Any] = {"prediction": pred.id, "event": event,
                                      "url": pred.webhook, "attempt": attempt,
                                      "headers": headers, "body": raw}
            try:
                resp = requests.post(pred.webhook or "", data=raw, headers=headers,
                                     timeout=2, allow_redirects=False)
                record["status"] = resp.status_code
            except requests.RequestException as exc:
                record["status"] = None
                record["error"] = type(exc).__name__
            with fake.changed:
                fake.deliveries.append(record)
                fake.changed.notify_all()
            if record["status"] is not None and 200 <= record["status"] < 300:
                break
