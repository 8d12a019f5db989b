"""The debug resource on its own (routes are wired by the app): admins only, JSON and text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import falcon
import falcon.testing

from actorvid.actors.runtime import ActorSystem
from actorvid.api.debug import DebugActorsResource
from actorvid.errors import ActorvidError
from actorvid.store.db import Database
from tests.actors.fakes import FakeProvider
from tests.actors.helpers import make_job, scene_rows, wait_until


@dataclass(frozen=True)
class User:
    id: int
    is_admin: bool


class FakeAuth:
    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        role = req.get_header("X-Test-Role")
        req.context.user = None if role is None else User(1, role == "admin")


def _handle(req: falcon.Request, resp: falcon.Response, ex: ActorvidError, params: dict
            ) -> None:
    raise falcon.HTTPError(falcon.code_to_http_status(ex.status), title=ex.code)


def client(system: ActorSystem) -> falcon.testing.TestClient:
    app = falcon.App(middleware=[FakeAuth()])
    app.add_route("/api/v3/debug/actors", DebugActorsResource(system))
    app.add_error_handler(ActorvidError, _handle)
    return falcon.testing.TestClient(app)


def test_admins_see_the_tree_others_get_404(db: Database, user_id: int, provider: FakeProvider,
                                            make_system: Callable[..., ActorSystem]) -> None:
    job_id = make_job(db, user_id, scenes=2)
    system = make_system()
    wait_until(lambda: scene_rows(db, job_id) and all(s.provider_id
                                                      for s in scene_rows(db, job_id)))
    api = client(system)
    assert api.simulate_get("/api/v3/debug/actors").status_code == 404
    assert api.simulate_get("/api/v3/debug/actors",
                            headers={"X-Test-Role": "user"}).status_code == 404
    resp = api.simulate_get("/api/v3/debug/actors", headers={"X-Test-Role": "admin"})
    assert resp.status_code == 200
    root = resp.json["data"]
    assert root["kind"] == "root" and root["responding"]
    [coordinator] = root["children"]
    [job] = coordinator["children"]
    assert (job["kind"], job["job_id"], job["state"]["stage"]) == ("job", job_id, "rendering")
    assert {s["kind"] for s in job["children"]} == {"scene"} and len(job["children"]) == 2
    for scene in job["children"]:
        assert set(scene) >= {"urn", "scene_id", "state", "mailbox", "started_at", "restarts",
                              "last_message", "last_message_at", "responding", "children"}
    text = api.simulate_get("/api/v3/debug/actors", params={"format": "text"},
                            headers={"X-Test-Role": "admin"})
    assert text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    assert lines[0].startswith("root ") and lines[1].startswith("  coordinator ")
    assert sum(1 for line in lines if line.startswith("      scene ")) == 2
