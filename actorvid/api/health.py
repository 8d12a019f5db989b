"""``GET /health``: liveness plus database and actor-system readiness, without auth."""

from __future__ import annotations

from collections.abc import Callable

import falcon

from actorvid.api.envelope import ok
from actorvid.api.operations import PUBLIC, Op, described, ref
from actorvid.store.db import Database


class HealthResource:
    auth = "none"

    def __init__(self, db: Database, actors_ready: Callable[[], bool] | None = None) -> None:
        self.db = db
        self.actors_ready = actors_ready

    @described(Op(
        "Liveness plus database and actor-system readiness", ("service",), ref("Health"),
        errors=(503,), security=PUBLIC))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        database = "ok"
        try:
            with self.db.read() as conn:
                conn.execute("SELECT 1").fetchone()
        except Exception:
            database = "unavailable"
        actors = "not_started" if self.actors_ready is None else (
            "ok" if self.actors_ready() else "unavailable")
        healthy = database == "ok" and actors in ("ok", "not_started")
        ok(resp, {"status": "healthy" if healthy else "unhealthy", "database": database,
                  "actors": actors},
           status=falcon.HTTP_200 if healthy else falcon.HTTP_503)
