"""Failed-login backoff per username and per client address.

Each key (a username, a client address) may fail a few times freely; after that every failure
doubles the time during which the next attempt is refused with 429 and ``Retry-After``
without a password check, so guessing costs the attacker time and us nothing. A success
clears the username and the address. State is in memory (a restart forgets it, which only
helps an attacker once per restart) and bounded: the oldest keys are forgotten first.

Per username alone would let one address try one password on every account; per address
alone would let a botnet guess one account. Locking a username also slows its owner for a
few minutes at most (``max_delay``), the usual price of online-guessing protection.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from actorvid.errors import RateLimited


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Thread-safe; one per process, shared by every login request."""

    def __init__(self, *, free_per_user: int = 5, free_per_address: int = 20,
                 base_delay: float = 1.0, max_delay: float = 300.0,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._free = {"user": free_per_user, "address": free_per_address}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", username.strip().lower()), ("address", address)

    def check(self, username: str, address: str) -> None:
        """Raise :class:`RateLimited` while either key is backing off."""
        now = self.clock()
        with self._lock:
            wait = max((entry.locked_until - now for key in self._keys(username, address)
                        if (entry := self._failures.get(key)) is not None), default=0.0)
        if wait > 0:
            raise RateLimited("Too many failed logins; try again later",
                              retry_after=math.ceil(wait))

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(username, address):
                entry = self._failures.pop(key, None) or _Failures()
                entry.count += 1
                excess = entry.count - self._free[key[0]]
                if excess >= 0:
                    entry.locked_until = now + min(self.max_delay,
                                                   self.base_delay * 2 ** min(excess, 30))
                self._failures[key] = entry  # most recent last
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            for key in self._keys(username, address):
                self._failures.pop(key, None)
