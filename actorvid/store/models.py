"""Small shared row types of the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from actorvid import jsonsafe


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose rows a query may see: the caller's own, or every row for an admin."""

    user_id: int
    is_admin: bool = False

    @property
    def params(self) -> dict[str, Any]:
        return {"scope_user_id": self.user_id, "scope_admin": 1 if self.is_admin else 0}


# Append to a WHERE clause of a table with a user_id column (optionally aliased).
def scope_sql(alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return f"(:scope_admin = 1 OR {prefix}user_id = :scope_user_id)"


def dump_json(value: Any) -> str | None:
    """JSON text for a column; a non-finite number raises ``ValueError`` rather than storing
    ``NaN``, which would make every later answer that includes it invalid JSON."""
    return None if value is None else jsonsafe.dumps(value, separators=(",", ":"),
                                                     sort_keys=True)


def load_json(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def scoped_delete(conn: Any, table: str, row_id: str, *, scope: Scope) -> bool:
    """``DELETE`` one visible row of ``table`` (a name from our code); False when none."""
    cur = conn.execute(f"DELETE FROM {table} WHERE id = :id AND {scope_sql()}",
                       {"id": row_id, **scope.params})
    return bool(cur.rowcount == 1)


def scoped_update(conn: Any, table: str, row_id: str, changes: dict[str, Any], *,
                  updatable: dict[str, Any], scope: Scope, now: str) -> bool:
    """``UPDATE table`` with the known columns of ``changes``; False when no visible row.

    ``table`` and the column names come from our code, never from input: only keys of
    ``updatable`` are used, each value passed through its converter (None stays NULL).
    """
    columns = [c for c in changes if c in updatable]
    values = {c: None if changes[c] is None else updatable[c](changes[c]) for c in columns}
    sets = ", ".join([*(f"{c} = :{c}" for c in columns), "updated_at = :now" if columns
                      else "updated_at = updated_at"])
    cur = conn.execute(f"UPDATE {table} SET {sets} WHERE id = :id AND {scope_sql()}",
                       {**values, "now": now, "id": row_id, **scope.params})
    return bool(cur.rowcount)
