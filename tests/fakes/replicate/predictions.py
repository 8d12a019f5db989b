"""The fake's records: predictions, scripted outcomes and one-shot faults, and the small
helpers every part shares (ids, timestamps, Replicate's error bodies)."""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(26))


@dataclass
class Fault:
    """One-shot answer for the next matching request.

    kind: ``status`` (answer ``status`` with ``body`` without doing anything), ``reset`` (drop
    the connection; ``after=True`` does the work first, so a create exists but its answer is
    lost), ``slow`` (answer after ``seconds``; with ``after=True`` the work is done first).
    """

    route: str  # create | get | cancel | list | files | download | secret | any
    kind: str
    status: int = 500
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 2.0
    after: bool = True
    times: int = 1


@dataclass
class Outcome:
    status: str = "succeeded"  # succeeded | failed | stuck | aborted | canceled
    error: str | None = None
    model: str | None = None


@dataclass
class FakePrediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    created: float  # monotonic
    created_wall: datetime
    queue: float  # real seconds
    run: float
    outcome: Outcome
    tag: str = ""
    webhook: str | None = None
    events: tuple[str, ...] = ("start", "output", "logs", "completed")
    deadline: float | None = None
    deadline_wall: datetime | None = None
    status: str = "starting"
    started: float | None = None
    completed: float | None = None
    output_name: str = ""
    output_path: Path | None = None
    output_ready: threading.Event = field(default_factory=threading.Event)
    output_failed: str | None = None
    data_removed: bool = False
    logs: str = ""
    sent_events: set[str] = field(default_factory=set)
    source: str = "api"


def status_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"detail": "Request was throttled. Your rate limit resets in ~1s.",
                "status": 429, "retry_after": 1}
    if status == 402:
        return {"title": "Insufficient credit",
                "detail": "You have insufficient credit to run this model. Go to "
                          "https://replicate.com/account/billing#billing to purchase credit.",
                "status": 402}
    if status == 401:
        return {"title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token", "status": 401}
    if status == 404:
        return {"detail": "The requested resource could not be found.", "status": 404}
    return {"detail": "Internal server error", "status": status}
