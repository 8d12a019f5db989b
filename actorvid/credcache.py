"""An in-process cache of proven credentials (API keys, sessions, access tokens).

Why it is exact: one process owns the database file (``actorvid/store/ownership.py``), and every
way a credential stops working goes through :class:`actorvid.accounts.Accounts` in that process
(key revocation, logout) or through time (expiry). Revocation drops the entry; an entry never
outlives ``ttl`` nor its credential's own expiry. Only successes are cached: a key created by
``actorvid keys create`` beside the running server works on its first request. Commands that may
run beside the server only add rows, so they cannot make a cached credential wrong.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from actorvid.store.users import User

DEFAULT_TTL = timedelta(minutes=1)
DEFAULT_MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class Proven:
    """A credential that opened a request, until ``until``."""

    user: User
    until: datetime
    key_id: int | None = None  # API keys: what revocation names
    resource: str | None = None  # access tokens: the one resource they open


class CredentialCache:
    """Bounded (least recently used goes first), thread-safe, keyed by (kind, token hash)."""

    def __init__(self, *, ttl: timedelta = DEFAULT_TTL,
                 max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], Proven] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind: str, token_hash: str, now: datetime) -> Proven | None:
        key = (kind, token_hash)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found.until <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, kind: str, token_hash: str, proven: Proven, now: datetime) -> None:
        """Remember ``proven`` for at most ``ttl`` from ``now`` (sooner if it expires)."""
        until = min(proven.until, now + self.ttl)
        if until <= now:
            return
        with self._lock:
            self._entries[(kind, token_hash)] = Proven(proven.user, until, proven.key_id,
                                                       proven.resource)
            self._entries.move_to_end((kind, token_hash))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, kind: str, token_hash: str) -> None:
        with self._lock:
            self._entries.pop((kind, token_hash), None)

    def forget_api_key(self, key_id: int) -> None:
        """Drop the entry of API key ``key_id`` (revocation names keys by id, not hash)."""
        with self._lock:
            stale = [k for k, v in self._entries.items()
                     if k[0] == "api_key" and v.key_id == key_id]
            for key in stale:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
