"""``/api/v3/assets``: being written (issue 3)."""

from __future__ import annotations

import falcon

from actorvid.api.context import AppContext


def add_asset_routes(app: falcon.App, ctx: AppContext) -> None:
    """Register every asset route (and ``/campaigns/{id}/assets``)."""
