"""Accounts: users, API keys, logins and access tokens, for the API and the CLI alike."""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from actorvid import security
from actorvid.clock import Clock, isoformat_z, parse_iso, utc_now
from actorvid.credcache import CredentialCache, Proven
from actorvid.errors import NotFound, Unauthorized
from actorvid.legacy_hashes import LegacyKeyGuard, check_bcrypt, is_bcrypt_hash
from actorvid.store import legacy as legacy_store
from actorvid.store import users as user_store
from actorvid.store.db import Database
from actorvid.store.users import ApiKey, User

logger = logging.getLogger(__name__)

API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
# Expired sessions are deleted at start and then on a login at most this often: logins are
# what add rows, so a busy table is pruned as often as it grows, at no cost per request.
SESSION_PRUNE_INTERVAL = timedelta(hours=1)


def _expiry(expires_at: str | None) -> datetime:
    """When a credential stops working (never: the far future, the cache's TTL bounds it)."""
    return parse_iso(expires_at) if expires_at else datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once, never stored
    record: ApiKey


@dataclass(frozen=True)
class Login:
    token: str
    expires_in: int
    user: User


class Accounts:
    """The account operations, bound to a database and a clock."""

    def __init__(self, db: Database, *, clock: Clock = utc_now, session_ttl: int = 5 * 86400,
                 access_token_ttl: int = 7200, legacy_keys: LegacyKeyGuard | None = None,
                 password_params: security.ScryptParams = security.RECOMMENDED_SCRYPT
                 ) -> None:
        self.db = db
        self.password_params = password_params
        # Checked for unknown usernames so that they cost exactly what a wrong password
        # costs (same parameters, one hash); made once, on the first login.
        self._dummy_hash: str | None = None
        self.clock = clock
        self.session_ttl = session_ttl
        self.access_token_ttl = access_token_ttl
        # Bounds the bcrypt work of checking unknown sk_ keys against imported old keys.
        self.legacy_keys = legacy_keys or LegacyKeyGuard()
        self._pruned_at: datetime | None = None
        # Proven credentials, so a request does not hash-and-query its key every time.
        self.credentials = CredentialCache()

    def _now(self) -> str:
        return isoformat_z(self.clock())

    def create_user(self, username: str, email: str, password: str, *, is_admin: bool = False
                    ) -> User:
        password_hash = security.hash_password(password, self.password_params)
        with self.db.write() as conn:
            return user_store.create_user(conn, username=username, email=email,
                                          password_hash=password_hash, is_admin=is_admin,
                                          now=self._now())

    def create_api_key(self, user_id: int, name: str, *, expires_days: int | None = None
                       ) -> NewApiKey:
        key = security.new_api_key()
        expires_at = (isoformat_z(self.clock() + timedelta(days=expires_days))
                      if expires_days else None)
        with self.db.write() as conn:
            record = user_store.create_api_key(
                conn, user_id=user_id, name=name, key_hash=security.hash_token(key),
                key_prefix=key[:8], now=self._now(), expires_at=expires_at)
        return NewApiKey(key, record)

    def user_by_username(self, username: str) -> User:
        with self.db.read() as conn:
            found = user_store.get_user_with_password(conn, username)
        if found is None:
            raise NotFound("User not found")
        return found[0]

    # --- authentication ------------------------------------------------------------

    def authenticate_api_key(self, key: str) -> User | None:
        now = self.clock()
        key_hash = security.hash_token(key)
        cached = self.credentials.get("api_key", key_hash, now)
        if cached is not None:
            return cached.user
        with self.db.read() as conn:
            found = user_store.find_user_by_api_key(conn, key_hash, isoformat_z(now))
        if found is None:
            # A key of the old backend (imported bcrypt hash) is moved to our indexed form on
            # its first use, so this bcrypt path runs once per old key, not per request.
            if key.startswith(security.API_KEY_PREFIX) and self._migrate_legacy_key(
                    key, key_hash):
                with self.db.read() as conn:
                    found = user_store.find_user_by_api_key(conn, key_hash, isoformat_z(now))
            if found is None:
                return None
        user, record = found
        if record.last_used is None or record.last_used < isoformat_z(
                now - API_KEY_TOUCH_INTERVAL):
            with self.db.write() as conn:
                user_store.touch_api_key(conn, record.id, isoformat_z(now),
                                         isoformat_z(now - API_KEY_TOUCH_INTERVAL))
        # Cached for at most API_KEY_TOUCH_INTERVAL, so ``last_used`` keeps its precision.
        self.credentials.put("api_key", key_hash,
                             Proven(user, _expiry(record.expires_at), key_id=record.id), now)
        return user

    def revoke_api_key(self, key_id: int, *, user_id: int) -> bool:
        """Revoke ``user_id``'s key ``key_id``; it stops working with the next request."""
        with self.db.write() as conn:
            revoked = user_store.revoke_api_key(conn, key_id, user_id=user_id)
        self.credentials.forget_api_key(key_id)
        return revoked

    def _migrate_legacy_key(self, key: str, key_hash: str) -> bool:
        """Check ``key`` against the imported old keys; on a match move it to ``api_keys``."""
        guard = self.legacy_keys
        if guard.recently_missed(key_hash):
            return False
        now = self._now()
        with self.db.read() as conn:
            candidates = legacy_store.pending_legacy_api_keys(conn, now)
        for legacy in candidates:
            if not guard.acquire():
                # Out of budget: refuse this request but do not cache a miss (it may be good).
                logger.warning("legacy API key checks are rate-limited; a key was refused")
                return False
            if not check_bcrypt(key, legacy.bcrypt_hash):
                continue
            try:
                with self.db.write() as conn:
                    moved = legacy_store.migrate_legacy_api_key(
                        conn, legacy, key_hash=key_hash, key_prefix=key[:8], now=now)
            except sqlite3.IntegrityError:
                moved = False  # a concurrent request moved the same key first
            if moved:
                logger.info("moved old API key %d (%s) of user %d to the indexed form",
                            legacy.id, legacy.name, legacy.user_id)
            return True
        if candidates:
            guard.remember_miss(key_hash)
        return False

    def authenticate_session(self, token: str) -> User | None:
        found = self._live_token(token, "session")
        return found.user if found is not None else None

    def authenticate_access_token(self, token: str, resource: str) -> User | None:
        found = self._live_token(token, "access")
        return found.user if found is not None and found.resource == resource else None

    def _live_token(self, token: str, kind: str) -> Proven | None:
        """The live session or access token ``token`` (from the cache when proven lately)."""
        now = self.clock()
        token_hash = security.hash_token(token)
        cached = self.credentials.get(kind, token_hash, now)
        if cached is not None:
            return cached
        with self.db.read() as conn:
            found = user_store.find_session(conn, token_hash, kind=kind, now=isoformat_z(now))
        if found is None:
            return None
        proven = Proven(found.user, parse_iso(found.expires_at), resource=found.resource)
        self.credentials.put(kind, token_hash, proven, now)
        return proven

    def login(self, username: str, password: str) -> Login:
        with self.db.read() as conn:
            found = user_store.get_user_with_password(conn, username)
        # Check a dummy hash for unknown users: one scrypt at today's parameters, exactly
        # what a wrong password costs, so timing does not tell which usernames exist.
        stored = found[1] if found else self._unknown_user_hash()
        legacy = is_bcrypt_hash(stored)
        valid = (check_bcrypt(password, stored) if legacy
                 else security.verify_password(password, stored))
        if found is None or not valid or not found[0].is_active:
            raise Unauthorized("Incorrect username or password")
        user = found[0]
        token = security.new_token()
        now = self.clock()
        # An imported bcrypt hash, or ours made with older parameters, is replaced the first
        # time the password is proven (hashed before the write lock is taken).
        upgraded = (security.hash_password(password, self.password_params)
                    if legacy or security.needs_rehash(stored, self.password_params) else None)
        with self.db.write() as conn:
            if upgraded is not None:
                legacy_store.replace_password_hash(conn, user.id, old_hash=stored,
                                                   new_hash=upgraded)
            user_store.create_session(
                conn, user_id=user.id, token_hash=security.hash_token(token), kind="session",
                resource=None, now=isoformat_z(now),
                expires_at=isoformat_z(now + timedelta(seconds=self.session_ttl)))
            user_store.record_login(conn, user.id, isoformat_z(now))
        self._prune_sessions_if_due()
        return Login(token, self.session_ttl, user)

    def prune_sessions(self) -> int:
        """Delete expired and revoked sessions and access tokens; returns how many."""
        now = self.clock()
        self._pruned_at = now
        with self.db.write() as conn:
            deleted = user_store.delete_expired_sessions(conn, isoformat_z(now))
        if deleted:
            logger.info("deleted %d expired or revoked sessions", deleted)
        return deleted

    def _prune_sessions_if_due(self) -> None:
        if self._pruned_at is None or self.clock() - self._pruned_at >= SESSION_PRUNE_INTERVAL:
            self.prune_sessions()

    def _unknown_user_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = security.hash_password(security.new_token(),
                                                      self.password_params)
        return self._dummy_hash

    def logout(self, token: str) -> bool:
        token_hash = security.hash_token(token)
        with self.db.write() as conn:
            revoked = user_store.revoke_session(conn, token_hash, self._now())
        self.credentials.forget("session", token_hash)
        return revoked

    def mint_access_token(self, user_id: int, resource: str, ttl: int | None = None) -> str:
        """A short-lived token that opens one resource (``asset:<id>``, ``video:<job>``...)."""
        token = security.new_token()
        now = self.clock()
        with self.db.write() as conn:
            user_store.create_session(
                conn, user_id=user_id, token_hash=security.hash_token(token), kind="access",
                resource=resource, now=isoformat_z(now),
                expires_at=isoformat_z(now + timedelta(seconds=ttl or self.access_token_ttl)))
        return token

    # --- first start ---------------------------------------------------------------

    def bootstrap_admin(self, key_file: Path) -> str | None:
        """On an empty database, create ``admin`` with one API key; return the key once.

        The key is also written to ``key_file`` (``Settings.admin_key_file``) with mode 0600
        so an operator who missed the console can still read it.
        """
        with self.db.read() as conn:
            if user_store.count_users(conn) > 0:
                return None
        password = security.new_token()
        try:
            admin = self.create_user("admin", "admin@localhost", password, is_admin=True)
        except Exception:  # another process bootstrapped first
            logger.info("admin user already exists; not bootstrapping")
            return None
        new_key = self.create_api_key(admin.id, "bootstrap")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        path = key_file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key.key + "\n")
        os.chmod(path, 0o600)
        logger.info("created the admin user and a first API key (written to %s)", path)
        return new_key.key
