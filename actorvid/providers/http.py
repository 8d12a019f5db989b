"""What every outbound HTTP client shares: one session, timeouts, retry waits, error bodies."""

from __future__ import annotations

import email.utils
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import backoff
import requests
import requests.auth

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a call that may succeed later.

    ``max_wait`` caps a single wait: a server asking for longer than that gets its answer passed
    to the caller (as ``retry_after``) instead of holding a thread.
    """

    tries: int = 5
    base: float = 0.5
    cap: float = 20.0
    max_wait: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before retry number ``attempt`` (1-based): the server's word, else jittered expo."""
        if retry_after is not None:
            return max(0.0, retry_after)
        expo = min(self.cap, self.base * (2 ** (attempt - 1)))
        # Half fixed, half jitter: spreads a burst of clients without ever waiting ~0.
        return expo / 2 + backoff.full_jitter(expo / 2)


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` given as requests' ``auth``, or no credentials at all
    (``token=None``, for a host that must not get ours).

    Given as a plain header instead, the token would be replaced by a ``~/.netrc`` entry for
    the host: requests looks one up (reading the file) on every call made without ``auth``, and
    its credentials win over the headers.
    """

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def new_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


class ThreadSessions:
    """One ``requests.Session`` per calling thread: a session (its connection pool and cookie
    jar) is not safe to share between the actor and pool threads that call one client."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._local = threading.local()

    def get(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session(self.user_agent)
        return session


def retry_after_seconds(resp: requests.Response, body: Any = None) -> float | None:
    """``retry_after`` from a JSON body (Replicate), else the ``Retry-After`` header."""
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    header = resp.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def json_body(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def error_detail(body: Any, resp: requests.Response) -> str:
    """A short human sentence out of an error body (problem+json, xAI's flat shape, or text)."""
    if isinstance(body, dict):
        for key in ("detail", "error", "title", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"][:300]
    text = (resp.text or "").strip()
    return text[:300] or resp.reason or f"HTTP {resp.status_code}"
