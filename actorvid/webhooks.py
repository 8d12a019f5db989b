"""Standard Webhooks signatures (HMAC-SHA256 over ``id.timestamp.body``), as Replicate sends them.

Its own module, below both the API (which verifies a delivery) and the providers (whose fakes
sign one), so the HTTP layer does not import the Replicate client to check a header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime

from actorvid.config import Secret


def sign_webhook(secret: str, webhook_id: str, timestamp: str | int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body`` with the key inside ``whsec_...``."""
    key = base64.b64decode(secret.split("_", 1)[1] if secret.startswith("whsec_") else secret)
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_webhook(secret: str | Secret, headers: Mapping[str, str], raw_body: bytes,
                   now: float | datetime | None = None, tolerance: float = 300) -> bool:
    """Standard Webhooks check of a Replicate delivery, on the raw body bytes.

    True only if a ``v1`` signature matches (constant-time) and ``webhook-timestamp`` is within
    ``tolerance`` seconds of ``now`` (a replayed old delivery is refused).
    """
    secret_text = secret.reveal() if isinstance(secret, Secret) else secret
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    timestamp = lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    if not (secret_text and msg_id and timestamp and signatures):
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if now is None:
        now_s = time.time()
    elif isinstance(now, datetime):
        now_s = now.timestamp()
    else:
        now_s = float(now)
    if abs(now_s - ts) > tolerance:
        return False
    try:
        expected = sign_webhook(secret_text, msg_id, timestamp, raw_body)
    except (ValueError, IndexError):
        return False
    matched = False
    for candidate in signatures.split():
        # Compare every entry: the time taken does not tell which one matched.
        matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    return matched
