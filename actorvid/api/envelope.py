"""The V3 response envelope: ``{"data": ..., "error": ..., "meta": ...}``, all keys always there."""

from __future__ import annotations

from typing import Any

import falcon

from actorvid.clock import now_iso
from actorvid.logs import request_id_var  # set by RequestIdMiddleware, per request


def meta(**extra: Any) -> dict[str, Any]:
    return {"timestamp": now_iso(), "requestId": request_id_var.get(), **extra}


def envelope(data: Any = None, error: str | None = None, **meta_extra: Any) -> dict[str, Any]:
    return {"data": data, "error": error, "meta": meta(**meta_extra)}


def ok(resp: falcon.Response, data: Any, *, status: str | int = falcon.HTTP_200,
       **meta_extra: Any) -> None:
    """Answer ``data`` in the envelope (``meta_extra`` goes into ``meta``)."""
    resp.status = status
    resp.media = envelope(data, None, **meta_extra)


def page_meta(*, total: int, limit: int, offset: int) -> dict[str, int]:
    """A page's ``meta`` keys: the true ``total`` and the ``page`` number."""
    return {"total": total, "page": offset // limit + 1, "limit": limit, "offset": offset}


def ok_page(resp: falcon.Response, items: list[Any], *, total: int, limit: int, offset: int
            ) -> None:
    """A page of a list: ``meta`` carries the true ``total`` and the ``page`` number."""
    ok(resp, items, **page_meta(total=total, limit=limit, offset=offset))
