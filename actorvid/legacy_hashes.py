"""The old backend's credentials: bcrypt password hashes and bcrypt-hashed ``sk_`` API keys.

Both keep working after an import and are replaced by our own forms on first use (scrypt for a
password, an indexed SHA-256 ``api_keys`` row for a key). Checking an unknown key against the
old hashes costs one bcrypt per pending old key, so :class:`LegacyKeyGuard` bounds that work:
a token bucket caps bcrypt checks per second in this process, and a key that matched nothing is
remembered (by its SHA-256, briefly) so a client retrying a wrong key does not cost more.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import bcrypt

from actorvid.limits import TokenBucket

BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# The old backend (passlib/bcrypt) hashed at most the first 72 bytes of a password; bcrypt>=5
# refuses longer input instead of truncating, so truncate exactly as the old side did.
BCRYPT_MAX_BYTES = 72


def is_bcrypt_hash(value: object) -> bool:
    return isinstance(value, str) and value.startswith(BCRYPT_PREFIXES) and len(value) == 60


def check_bcrypt(secret: str, hashed: str) -> bool:
    """Whether ``secret`` matches the bcrypt ``hashed`` (False for a malformed hash)."""
    try:
        return bcrypt.checkpw(secret.encode("utf-8")[:BCRYPT_MAX_BYTES], hashed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


class LegacyKeyGuard:
    """Rate limit and miss cache for checks of unknown keys against old bcrypt hashes.

    ``rate`` bcrypt checks per second (bucket of the same size); a caller waits at most
    ``max_wait`` seconds for budget before giving up on a key without caching the miss (the
    key may be good; the client can retry). Misses are cached ``miss_ttl`` seconds, at most
    ``max_misses`` of them.
    """

    def __init__(self, *, rate: float = 8.0, max_wait: float = 2.0, miss_ttl: float = 60.0,
                 max_misses: int = 10_000, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.max_wait = max_wait
        self.miss_ttl = miss_ttl
        self.max_misses = max_misses
        self._monotonic = monotonic
        self._bucket = TokenBucket(rate, self.capacity, monotonic())
        self._lock = threading.Lock()
        self._misses: OrderedDict[str, float] = OrderedDict()
        self.checks = 0  # bcrypt checks made, for tests and logs

    def recently_missed(self, key_sha256: str) -> bool:
        with self._lock:
            expires = self._misses.get(key_sha256)
            if expires is None:
                return False
            if expires <= self._monotonic():
                del self._misses[key_sha256]
                return False
            return True

    def remember_miss(self, key_sha256: str) -> None:
        with self._lock:
            self._misses[key_sha256] = self._monotonic() + self.miss_ttl
            self._misses.move_to_end(key_sha256)
            while len(self._misses) > self.max_misses:
                self._misses.popitem(last=False)

    def forget(self, key_sha256: str) -> None:
        with self._lock:
            self._misses.pop(key_sha256, None)

    def acquire(self) -> bool:
        """Take budget for one bcrypt check, waiting up to ``max_wait``; False if none."""
        deadline = self._monotonic() + self.max_wait
        while True:
            with self._lock:
                now = self._monotonic()
                wait = self._bucket.take(now)
                if wait == 0.0:
                    self.checks += 1
                    return True
            if now + wait >= deadline:
                return False
            time.sleep(wait)
