"""The actorvid command: serve the API, make a demo video, manage users and keys, migrate,
back up and check the database, import the old backend's data."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actorvid.config import LOG_LEVELS, ConfigError, load_settings

if TYPE_CHECKING:
    from actorvid.accounts import Accounts
    from actorvid.store.db import Database

logger = logging.getLogger("actorvid")



def _configure_logging(level: str | None) -> None:
    from actorvid.logs import configure_logging

    try:
        settings = load_settings()
    except ConfigError:  # the command itself reports the bad setting
        configure_logging(level or "info")
        return
    configure_logging(level or settings.log_level, settings.log_format)


def cmd_serve(args: argparse.Namespace) -> int:

    from waitress import wasyncore

    from actorvid.app import build_app, create_context
    from actorvid.serving import install_stop_signals, make_server

    settings = load_settings()
    ctx = create_context(settings, start_actors=True)
    # Our own socket map (waitress's public ``map`` argument), to close every connection below.
    sockets: dict[int, Any] = {}
    # Refuse an oversize body before waitress spools it to disk (the app answers 413 too).
    server = make_server(build_app(ctx), host=args.host, port=args.port,
                         threads=args.threads, connection_limit=args.connection_limit,
                         max_request_body_size=settings.max_upload_bytes + 1024 * 1024,
                         map=sockets)

    class Stop(KeyboardInterrupt):
        """Raised by the signal handler; waitress's loop lets exactly this kind through."""

    state = {"serving": False, "stop": False}

    def stop(signum: int, frame: object) -> None:
        # Signal handlers run on the main thread: inside waitress's loop, leave the loop
        # (once); anywhere else just note it, so the shutdown below always runs whole.
        logger.info("signal %s: no new requests; stopping", signum)
        first = not state["stop"]
        state["stop"] = True
        if first and state["serving"]:
            raise Stop

    install_stop_signals(stop)
    try:
        # Announced once the handlers are in place, so a supervisor's early SIGTERM is clean.
        logger.info("actorvid listening on http://%s:%s", args.host,
                    getattr(server, "effective_port", args.port))
        with contextlib.suppress(Stop):
            state["serving"] = True
            if not state["stop"]:
                server.run()
    finally:
        state["serving"] = False
        # Finish the requests being served, then drop idle keep-alive connections.
        server.task_dispatcher.shutdown(timeout=10)
        wasyncore.close_all(sockets)
        # Then the actors, leaf-first within their deadline: every job stays resumable.
        ctx.close()
    logger.info("actorvid stopped")
    return 0


def _open_accounts() -> tuple[Database, Accounts]:
    from actorvid.accounts import Accounts
    from actorvid.store.db import open_database

    settings = load_settings()
    db = open_database(settings.db_path)
    return db, Accounts(db)


def cmd_users_create(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("ACTORVID_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("error: no password (use --password, ACTORVID_PASSWORD or a terminal)",
                  file=sys.stderr)
            return 2
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            print("error: passwords differ", file=sys.stderr)
            return 2
    db, accounts = _open_accounts()
    try:
        user = accounts.create_user(args.username, args.email, password, is_admin=args.admin)
    finally:
        db.close()
    print(f"created user {user.username} (id {user.id}{', admin' if user.is_admin else ''})",
          file=sys.stderr)
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    db, accounts = _open_accounts()
    try:
        user = accounts.user_by_username(args.username)
        new = accounts.create_api_key(user.id, args.name, expires_days=args.expires_days)
    finally:
        db.close()
    print(new.key)  # the only thing on stdout, so scripts can capture it
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from actorvid import demo

    logging.getLogger().setLevel(logging.WARNING)  # the progress bar is the output
    return demo.main(Path(args.output), keep=args.keep, pairs=args.pairs,
                     audio=not args.no_audio)


def cmd_migrate(args: argparse.Namespace) -> int:
    from actorvid.store import ownership
    from actorvid.store.db import open_database
    from actorvid.store.migrations import current_version

    settings = load_settings()
    with ownership.acquire(settings.db_path):  # never change a schema under a running server
        db = open_database(settings.db_path)
        try:
            with db.read() as conn:
                print(f"{settings.db_path}: schema version {current_version(conn)}")
        finally:
            db.close()
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from actorvid.store.maintenance import MaintenanceError, backup

    settings = load_settings()
    try:
        size = backup(settings.db_path, Path(args.path))
    except (MaintenanceError, sqlite3.Error, OSError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {settings.db_path} to {args.path} ({size} bytes, integrity ok)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from actorvid.clock import utc_now
    from actorvid.store.maintenance import MaintenanceError, check

    settings = load_settings()
    try:
        report = check(settings.db_path, now=utc_now(),
                       stale_after=timedelta(minutes=args.stale_minutes))
    except (MaintenanceError, sqlite3.Error) as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


def cmd_import_legacy(args: argparse.Namespace) -> int:
    from pathlib import Path

    from actorvid.legacy.importer import run_import
    from actorvid.legacy.reader import LegacyDatabaseError
    from actorvid.store import ownership

    settings = load_settings()
    # A real import writes: it must own the file (a dry run only reads).
    owner = None if args.dry_run else ownership.acquire(settings.db_path)
    try:
        outcome = run_import(Path(args.old_db), settings.db_path, dry_run=args.dry_run,
                             report_path=Path(args.report) if args.report else None,
                             owner=args.owner)
    except (LegacyDatabaseError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if owner is not None:
            owner.release()
    # The report path is the one thing on stdout, so scripts can pick it up.
    print(outcome.report_path)
    skipped = sum(c["skipped"] for c in outcome.report.counts.values())
    if skipped:
        print(f"{skipped} old rows were skipped; the report lists each with its reason",
              file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from actorvid.serving import DEFAULT_CONNECTION_LIMIT, DEFAULT_THREADS

    parser = argparse.ArgumentParser(prog="actorvid", description=__doc__)
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        help="default: ACTORVID_LOG_LEVEL, else info")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API and the actor system on waitress")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                       help="waitress worker threads (docs/operations.md: how to choose)")
    serve.add_argument("--connection-limit", type=int, default=DEFAULT_CONNECTION_LIMIT,
                       help="open connections waitress accepts before it stops accepting")
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action",
                                                                        required=True)
    create_user = users.add_parser("create", help="create a user")
    create_user.add_argument("--username", required=True)
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--password")
    create_user.add_argument("--admin", action="store_true")
    create_user.set_defaults(func=cmd_users_create)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="action",
                                                                         required=True)
    create_key = keys.add_parser("create", help="create an API key; prints only the key")
    create_key.add_argument("--username", required=True)
    create_key.add_argument("--name", default="cli")
    create_key.add_argument("--expires-days", type=int)
    create_key.set_defaults(func=cmd_keys_create)

    demo = sub.add_parser("demo", help="make a sample video end to end, offline")
    demo.add_argument("--output", default="actorvid-demo.mp4", help="where to write the MP4")
    demo.add_argument("--pairs", type=int, default=4, help="scenes (image pairs)")
    demo.add_argument("--no-audio", action="store_true", help="skip the soundtrack")
    demo.add_argument("--keep", action="store_true",
                      help="keep the working folder (its database, photos and key) and print "
                           "where it is")
    demo.set_defaults(func=cmd_demo)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    backup = sub.add_parser(
        "backup", help="copy the database while it is in use, then check the copy")
    backup.add_argument("path", metavar="PATH", help="the new file (must not exist)")
    backup.set_defaults(func=cmd_backup)

    check = sub.add_parser(
        "check", help="report integrity problems, orphan blobs and stuck jobs "
                      "(exit 1 when there are any)")
    check.add_argument("--stale-minutes", type=int, default=60, metavar="N",
                       help="a working job unchanged for N minutes counts as stuck, and a "
                            "blob unreferenced for N minutes as an orphan (default 60)")
    check.set_defaults(func=cmd_check)

    legacy = sub.add_parser(
        "import-legacy", help="import a database of the old Python backend into ACTORVID_DB")
    legacy.add_argument("old_db", metavar="OLD_DB", help="the old scenes.db (only read)")
    legacy.add_argument("--dry-run", action="store_true",
                        help="report what would be imported; write nothing")
    legacy.add_argument("--report", metavar="PATH",
                        help="where to write the JSON report (default: next to ACTORVID_DB)")
    legacy.add_argument("--owner", metavar="USERNAME",
                        help="owner of old jobs with no client or campaign "
                             "(default: the first admin)")
    legacy.set_defaults(func=cmd_import_legacy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.log_level)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, not a traceback, for operator mistakes
        from actorvid.errors import ActorvidError

        if isinstance(exc, ActorvidError):
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
