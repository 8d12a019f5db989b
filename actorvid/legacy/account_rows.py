"""Old users, their API keys, clients and campaigns, as rows of the new database."""

from __future__ import annotations

import sqlite3

from actorvid.legacy.rows import (
    RowImport,
    RowImporter,
    Skip,
    TargetView,
    dump_json,
    json_column,
    optional_timestamp,
    timestamp,
)
from actorvid.legacy_hashes import is_bcrypt_hash
from actorvid.store import legacy as store
from actorvid.store.blobs import BlobInfo


class AccountRows(RowImporter):
    """Users and their old API keys, clients and campaigns."""

    # --- users and credentials --------------------------------------------------------

    def _prepare_user(self, row: sqlite3.Row) -> RowImport:
        old_id = str(row["id"])
        username = str(row["username"] or "").strip()
        email = str(row["email"] or "").strip()
        if not username or not email:
            raise Skip("username or email is empty")
        hashed = row["hashed_password"] or ""
        with self._read() as conn:
            existing = store.find_user(conn, username=username, email=email) \
                if conn is not None and TargetView(conn).has_table("users") else []
        if existing:
            same = [u for u in existing if u.username == username and u.email == email]
            if not same:
                raise Skip("its username or email belongs to another user of the new database")
            kept = same[0]
            return RowImport("user", old_id, insert=lambda conn, blobs: str(kept.id),
                        dry_id=lambda conn: str(kept.id),
                        notes=[f"merged into the existing user {kept.id} (same username and "
                               "email); its password there is kept"])
        notes = [] if is_bcrypt_hash(hashed) else [
            "the password hash is not bcrypt: this user cannot log in with the old password"]
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            return str(store.insert_row(conn, "users", {
                "id": self._free_int_id(conn, "users", row["id"]), "username": username,
                "email": email, "password_hash": str(hashed) or "!",
                "is_active": 1 if row["is_active"] in (1, True, "1", None) else 0,
                "is_admin": 1 if row["is_admin"] in (1, True, "1") else 0,
                "created_at": timestamp(row["created_at"], now),
                "last_login": optional_timestamp(row["last_login"])}))

        if row["is_admin"] in (1, True, "1") and self._run_admin is None and self.dry_run:
            self._run_admin = -1  # a placeholder owner; a dry run never inserts it
        return RowImport("user", old_id, insert=insert, dry_id=self._dry_int("users", row["id"]),
                    notes=notes)

    def _prepare_api_key(self, row: sqlite3.Row) -> RowImport:
        user_id = self._new_of("user", row["user_id"])
        if user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        if not is_bcrypt_hash(row["key_hash"]):
            raise Skip("key_hash is not a bcrypt hash")
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            return str(store.insert_legacy_api_key(
                conn, user_id=int(user_id), name=str(row["name"] or "imported"),
                bcrypt_hash=row["key_hash"], is_active=row["is_active"] in (1, True, "1", None),
                created_at=timestamp(row["created_at"], now),
                last_used=optional_timestamp(row["last_used"]),
                expires_at=optional_timestamp(row["expires_at"])))

        return RowImport("api_key", str(row["id"]), insert=insert, dry_id=lambda conn: "(new id)")
    # --- clients and campaigns ----------------------------------------------------------

    def _prepare_client(self, row: sqlite3.Row) -> RowImport:
        client_id = self._text_id(row, "clients")
        user_id = self._new_of("user", row["user_id"])
        if user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        if not str(row["name"] or "").strip():
            raise Skip("name is empty")
        brand = json_column(row, "brand_guidelines", kind=dict)
        metadata = json_column(row, "metadata", kind=dict)
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            created = timestamp(row["created_at"], now)
            store.insert_row(conn, "clients", {
                "id": client_id, "user_id": int(user_id), "name": str(row["name"]),
                "description": str(row["description"] or ""), "homepage": row["homepage"],
                "brand_guidelines": dump_json(brand), "metadata": dump_json(metadata),
                "created_at": created, "updated_at": timestamp(row["updated_at"], created)})
            return client_id

        self._owner_of[("client", client_id)] = user_id
        return RowImport("client", client_id, insert=insert, dry_id=lambda conn: client_id)

    def _prepare_campaign(self, row: sqlite3.Row) -> RowImport:
        campaign_id = self._text_id(row, "campaigns")
        client_id = self._new_of("client", row["client_id"])
        if client_id is None:
            raise Skip(f"its client {row['client_id']} was not imported (or never existed)")
        user_id = self._new_of("user", row["user_id"])
        if user_id is None:
            raise Skip(f"its user {row['user_id']} was not imported")
        status = row["status"] or "draft"
        if status not in ("active", "archived", "draft"):
            raise Skip(f"status {status!r} is not active, archived or draft")
        brief = json_column(row, "brief")
        metadata = json_column(row, "metadata")
        now = self._now()

        def insert(conn: sqlite3.Connection, blobs: dict[str, BlobInfo]) -> str:
            created = timestamp(row["created_at"], now)
            store.insert_row(conn, "campaigns", {
                "id": campaign_id, "client_id": client_id, "user_id": int(user_id),
                "name": str(row["name"] or "Untitled"), "goal": str(row["goal"] or ""),
                "status": status, "product_url": row["product_url"], "brief": dump_json(brief),
                "metadata": dump_json(metadata), "created_at": created,
                "updated_at": timestamp(row["updated_at"], created)})
            return campaign_id

        self._owner_of[("campaign", campaign_id)] = user_id
        return RowImport("campaign", campaign_id, insert=insert, dry_id=lambda conn: campaign_id)
