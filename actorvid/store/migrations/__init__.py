"""Versioned, idempotent schema migrations.

Each migration is a module ``mNNNN_name.py`` in this package with either a ``SQL`` string or an
``apply(conn)`` function. ``PRAGMA user_version`` records the last applied number; every
migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the version bump, so a
crash leaves the file at a whole version. Later issues add a module; nothing else changes.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Protocol

logger = logging.getLogger(__name__)


class Writable(Protocol):
    """What migrating needs of ``store.db.Database``: its path and a write transaction.

    A protocol rather than the class, so ``store/db`` imports this package at its top and this
    package never imports ``store/db`` back (that cycle used to hide inside a function).
    """

    path: Path

    def write(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def split_statements(script: str) -> list[str]:
    """Split a SQL script into whole statements (triggers with inner ``;`` stay whole)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines(keepends=True):
        current.append(line)
        candidate = "".join(current)
        if sqlite3.complete_statement(candidate):
            if candidate.strip():
                statements.append(candidate.strip())
            current = []
    rest = "".join(current).strip()
    if rest:
        raise ValueError(f"incomplete SQL statement at end of script: {rest[:60]!r}")
    return statements


def _from_module(module: ModuleType, version: int, name: str) -> Migration:
    if hasattr(module, "apply"):
        return Migration(version, name, module.apply)
    sql: str = module.SQL

    def run(conn: sqlite3.Connection) -> None:
        for statement in split_statements(sql):
            conn.execute(statement)

    return Migration(version, name, run)


def discover() -> list[Migration]:
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        if not (info.name.startswith("m") and info.name[1:5].isdigit()):
            continue
        version = int(info.name[1:5])
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(_from_module(module, version, info.name[6:]))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migration numbers must run 1..n without gaps, got {versions}")
    return found


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(db: Writable, *, target: int | None = None) -> list[int]:
    """Apply every migration above the file's version (up to ``target``). Returns those applied."""
    applied: list[int] = []
    for migration in discover():
        if target is not None and migration.version > target:
            break
        with db.write() as conn:
            # Re-read inside the write lock so two processes starting together apply once.
            if current_version(conn) >= migration.version:
                continue
            migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {migration.version:d}")
        logger.info("applied migration %04d_%s to %s", migration.version, migration.name, db.path)
        applied.append(migration.version)
    return applied


def latest_version() -> int:
    migrations = discover()
    return migrations[-1].version if migrations else 0
