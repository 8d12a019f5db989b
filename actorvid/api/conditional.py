"""Conditional GETs: a weak ``ETag`` from a change stamp, and 304 when the client has it.

The stamp comes from :mod:`actorvid.store.stamps` (one indexed read, no body built). It is
read *before* the answer is built, so a write in between can only make the ETag older than
the body (the next poll then gets a 200), never newer.
"""

from __future__ import annotations

import falcon

# Answers are per caller and change under the client: a cache may keep them only to
# revalidate them.
CACHE_CONTROL = "private, no-cache"


def not_modified(req: falcon.Request, resp: falcon.Response, stamp: str | None) -> bool:
    """Set the ETag for ``stamp``; True (and a 304 is set up) when the client holds it.

    ``stamp`` None means "nothing to compare" (the row is not visible): the caller goes on
    and answers as it would without a condition (usually 404)."""
    if stamp is None:
        return False
    resp.set_header("ETag", f'W/"{stamp}"')
    resp.set_header("Cache-Control", CACHE_CONTROL)
    # Weak comparison (RFC 9110 13.1.2): the opaque tags match, weak or not.
    if any(tag == "*" or tag == stamp for tag in (req.if_none_match or [])):
        resp.status = falcon.HTTP_304
        return True
    return False
