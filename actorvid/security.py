"""Passwords, API keys and tokens: how they are made and how they are stored.

Passwords use ``hashlib.scrypt`` with a per-user salt and the parameters in the stored hash, so
they can be raised later: a login with an older hash stores a new one (:func:`needs_rehash`).
API keys and session/access tokens are long random strings, stored only as their SHA-256 (they
carry enough entropy that a salt buys nothing, and an indexed hash makes every lookup O(1)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

API_KEY_PREFIX = "sk_"


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: ``n`` (CPU/memory, a power of two), block size ``r``, parallelism ``p``."""

    n: int
    r: int
    p: int

    @classmethod
    def parse(cls, text: str) -> ScryptParams:
        """``"N,r,p"`` (as in ``ACTORVID_SCRYPT_PARAMS``); raises ``ValueError``."""
        n, r, p = (int(part) for part in text.split(","))
        if n < 2 or n & (n - 1) or r < 1 or p < 1:
            raise ValueError("N must be a power of two above 1; r and p at least 1")
        return cls(n, r, p)

    def __str__(self) -> str:
        return f"{self.n},{self.r},{self.p}"


# OWASP's Password Storage Cheat Sheet lists equivalent scrypt settings; this is its 16 MiB
# one (N=2^14, r=8, p=5), as strong as N=2^17, p=1 without 128 MiB per concurrent login.
RECOMMENDED_SCRYPT = ScryptParams(2**14, 8, 5)


def _scrypt(password: str, salt: bytes, params: ScryptParams, dklen: int) -> bytes:
    # hashlib refuses more than 32 MiB by default; allow what these parameters need.
    maxmem = 128 * params.r * (params.n + params.p + 2) + 1024 * 1024
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params.n, r=params.r,
                          p=params.p, dklen=dklen, maxmem=maxmem)


def hash_password(password: str, params: ScryptParams = RECOMMENDED_SCRYPT) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, params, 32)
    salt_b64 = base64.b64encode(salt).decode()
    digest_b64 = base64.b64encode(digest).decode()
    return f"scrypt${params.n}${params.r}${params.p}${salt_b64}${digest_b64}"


def _parse_hash(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return None
        return (ScryptParams(int(n), int(r), int(p)), base64.b64decode(salt_b64),
                base64.b64decode(digest_b64))
    except ValueError:
        return None


def verify_password(password: str, stored: str) -> bool:
    """Check ``password`` against a stored scrypt hash (constant-time)."""
    parsed = _parse_hash(stored)
    if parsed is None:
        return False
    params, salt, expected = parsed
    return hmac.compare_digest(_scrypt(password, salt, params, len(expected)), expected)


def needs_rehash(stored: str, params: ScryptParams) -> bool:
    """Whether ``stored`` was made with other parameters (or another scheme) than ``params``."""
    parsed = _parse_hash(stored)
    return parsed is None or parsed[0] != params


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
