"""Rendered answers of conditional GETs, kept by the change stamp that tags them.

A GET that carries an ``ETag`` (``api/conditional.py``) reads its stamp before it builds
anything; the stamp changes whenever anything the answer shows changes (that is what makes a
304 correct). So the serialised ``data`` of a 200 can be kept under ``(route, caller, query,
stamp)`` and sent again while the stamp stays the same: a repeated 200 then costs the stamp
read and the bytes, not the rows, the objects and the JSON. A new stamp is a new key, so
nothing is ever invalidated by hand; old keys fall out of the least-recently-used end.

The stamp is read before the rows, so a kept answer is never older than the stamp it is
kept under (a write in between can only make it newer, as with the ETag itself), and once
the rows change no request computes the old stamp again.

Only ``data`` (and the listing's ``meta`` extras) is kept: the envelope's ``timestamp`` and
``requestId`` are the request's own and are written fresh each time.

One cache per process (one process owns the database file), bounded by bytes:
``ACTORVID_ANSWER_CACHE_BYTES``, 0 turns it off.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import falcon

from actorvid.api.envelope import meta
from actorvid.jsonsafe import dumps_response
from actorvid.sizedlru import SizedLRU

# What one entry costs besides its bytes (the key, the tuple, the dict's slot), roughly.
_ENTRY_OVERHEAD = 200


@dataclass(frozen=True, slots=True)
class Answer:
    """A kept answer: the serialised ``data`` and the ``meta`` keys it adds (a page's total)."""

    data: bytes
    meta_extra: tuple[tuple[str, Any], ...] = ()


class AnswerCache(SizedLRU[Hashable, Answer]):
    """A thread-safe LRU of :class:`Answer` by key, holding at most ``max_bytes`` of them,
    counting its hits and misses."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, size_of=lambda answer: len(answer.data) + _ENTRY_OVERHEAD)
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Answer | None:
        found = super().get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found


def answer_key(req: falcon.Request, stamp: str | None, *parts: Hashable) -> Hashable | None:
    """The key of ``req``'s answer at ``stamp``: the route, the caller's scope and ``parts``
    (the path ids and query values the answer depends on). ``None`` (do not keep) when there
    is no stamp: the row is not visible and the answer is an error."""
    if stamp is None:
        return None
    scope = req.context.scope
    return (req.uri_template, scope.user_id, scope.is_admin, stamp, *parts)


def send_kept(resp: falcon.Response, cache: AnswerCache | None, key: Hashable | None) -> bool:
    """Answer 200 from the cache when it holds ``key``; False when the caller must build it."""
    if cache is None or key is None:
        return False
    found = cache.get(key)
    if found is None:
        return False
    _send(resp, found)
    return True


def send_and_keep(resp: falcon.Response, cache: AnswerCache | None, key: Hashable | None,
                  data: Any, **meta_extra: Any) -> None:
    """Answer 200 with ``data`` in the envelope (as ``envelope.ok`` does) and keep it."""
    found = Answer(dumps_response(data).encode(), tuple(meta_extra.items()))
    if cache is not None and key is not None:
        cache.put(key, found)
    _send(resp, found)


def _send(resp: falcon.Response, found: Answer) -> None:
    # The same bytes ``resp.media = envelope(...)`` writes (json.dumps' separators, key order
    # data, error, meta), with this request's timestamp and id.
    head = json.dumps(meta(**dict(found.meta_extra)), ensure_ascii=False).encode()
    resp.status = falcon.HTTP_200
    resp.content_type = falcon.MEDIA_JSON
    resp.data = b'{"data": ' + found.data + b', "error": null, "meta": ' + head + b"}"


def answer_cache(services: dict[str, Any], max_bytes: int) -> AnswerCache | None:
    """The context's cache (made on first use), or None when it is turned off."""
    if max_bytes <= 0:
        return None
    cache = services.get("answers")
    if cache is None:
        cache = services.setdefault("answers", AnswerCache(max_bytes))
    return cache
