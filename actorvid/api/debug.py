"""``GET /api/v3/debug/actors``: the live actor tree, for admins.

Read through ``ask`` with short timeouts (see :mod:`actorvid.actors.snapshot`), so a stuck actor
shows up as ``"responding": false`` instead of hanging the request. ``?format=text`` prints the
tree for a terminal. Anyone but an admin gets 404: the endpoint's existence is not advertised.
"""

from __future__ import annotations

from typing import Any

import falcon

from actorvid.actors import snapshot as snapshots
from actorvid.api.envelope import ok
from actorvid.api.operations import Op, described, param, ref
from actorvid.errors import NotFound

SNAPSHOT_TIMEOUT = 0.5
ASK_TIMEOUT = 0.1


class DebugActorsResource:
    def __init__(self, system: Any) -> None:
        self._system = system

    @described(Op(
        "The live actor tree (admins only; others get 404)", ("service",), ref("ActorNode"),
        description="Keys are snake_case (see ActorNode). ?format=text answers the same tree "
                    "as indented text.",
        params=(param("format", {"type": "string", "enum": ["json", "text"]}),)))
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user = getattr(req.context, "user", None)
        if user is None or not getattr(user, "is_admin", False):
            raise NotFound()
        tree = self._system.snapshot(timeout=SNAPSHOT_TIMEOUT, ask_timeout=ASK_TIMEOUT)
        if req.get_param("format") == "text":
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = snapshots.render_text(tree) + "\n" if tree.get("urn") else "stopped\n"
            return
        ok(resp, tree)
