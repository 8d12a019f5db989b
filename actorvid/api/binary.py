"""Serve a blob over HTTP: streamed, with Range, HEAD, ETag/304 and safe headers.

Used by every binary route (asset data and thumbnails, final videos, clips, audio)::

    send_blob(req, resp, ctx.db, blobs.blob_info(ctx.db, blob_id),
              content_type="video/mp4", filename="video_42.mp4")

The body is a plain iterator over :func:`actorvid.store.blobs.iter_blob`, which borrows a pooled
read connection per chunk and gives it back before yielding; it is deliberately not seekable,
because waitress hands seekable bodies to its I/O thread, which would then read SQLite there.
Memory per download is one chunk, whatever the blob's size.

A body larger than waitress's output buffer can park a worker thread until the client reads,
so such bodies take one of the :func:`stream_slots` for as long as they stream (a bounded share of
the threads, and of it a bounded share per user); past that the answer is 429 with
``Retry-After``. Stalled readers are dropped by :class:`actorvid.serving.SendDeadline`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import falcon

from actorvid.errors import RangeNotSatisfiable
from actorvid.limits import ConcurrencySlots
from actorvid.serving import OUTBUF_HIGH_WATERMARK
from actorvid.store import blobs
from actorvid.store.blobs import BlobInfo
from actorvid.store.db import Database

logger = logging.getLogger(__name__)

# Shown inline; anything else (SVG, HTML, unknown) is an attachment, so a browser never runs
# stored content on our origin.
INLINE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp",
    "video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo",
    "audio/mpeg", "audio/wav", "audio/ogg", "audio/aac", "audio/mp4", "audio/webm",
    "audio/x-matroska", "application/pdf",
})

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


# Smaller bodies fit in waitress's output buffer whole, so they never park a thread.
LARGE_BODY = OUTBUF_HIGH_WATERMARK
# What a client told "busy" should wait: streams end, or are dropped, within seconds to a
# minute; a short hint spreads the retries.
STREAM_RETRY_AFTER = 5


def stream_slots(total: int, per_user: int) -> ConcurrencySlots:
    """The slots large bodies take while they stream (see the module's docstring)."""
    return ConcurrencySlots(total, per_user, retry_after=STREAM_RETRY_AFTER,
                            busy_message="Too many downloads at once; try again shortly")


class BlobStream:
    """A non-seekable iterator over part of a blob; ``close()`` stops it early and calls
    ``on_close`` (the stream slot's release)."""

    def __init__(self, pieces: Iterator[bytes],
                 on_close: Callable[[], None] | None = None) -> None:
        self._pieces = pieces
        self._on_close = on_close

    def __iter__(self) -> BlobStream:
        return self

    def __next__(self) -> bytes:
        return next(self._pieces)

    def close(self) -> None:
        try:
            close = getattr(self._pieces, "close", None)
            if close is not None:
                close()
        finally:
            if self._on_close is not None:
                self._on_close()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range ``(first, last)`` inclusive that ``header`` asks for.

    ``None`` means "send the whole body": no header, another unit, several ranges (answered
    with the full body rather than multipart/byteranges) or a syntactically invalid one, which
    RFC 9110 says to ignore. Raises :class:`RangeNotSatisfiable` when no byte can be served.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.match(spec)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)  # bytes=-N: the last N bytes
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, min(last, size - 1)


def content_disposition(kind: str, filename: str) -> str:
    """``inline``/``attachment`` with an ASCII-safe ``filename`` and an RFC 5987 ``filename*``."""
    name = filename.replace("/", "_").replace("\\", "_").strip() or "download"
    ascii_name = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"%;' else "_" for c in name)
    value = f'{kind}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def send_blob(req: falcon.Request, resp: falcon.Response, db: Database, blob: BlobInfo, *,
              content_type: str, filename: str | None = None,
              disposition: str | None = None, cache_control: str = "private") -> None:
    """Answer ``req`` with ``blob``: 200, 206 (single Range), 304 or 416; HEAD sends no body.

    ``disposition`` (``"inline"``/``"attachment"``) defaults to inline for the media types in
    :data:`INLINE_TYPES` and attachment for everything else (SVG above all).
    """
    etag = f'"{blob.sha256}"' if blob.sha256 else None
    resp.set_header("Accept-Ranges", "bytes")
    resp.set_header("X-Content-Type-Options", "nosniff")
    resp.set_header("Cache-Control", cache_control)
    if etag:
        resp.set_header("ETag", etag)
    if etag and _etag_matches(req.get_header("If-None-Match"), etag):
        resp.status = falcon.HTTP_304
        return

    byte_range = None
    if_range = req.get_header("If-Range")
    # A Range with a stale If-Range validator gets the whole (new) body.
    if if_range is None or (etag is not None and if_range.strip() == etag):
        byte_range = parse_range(req.get_header("Range"), blob.size)
    first, last = (0, blob.size - 1) if byte_range is None else byte_range
    length = max(0, last - first + 1)
    # Taken before any body header is set, so a 429 is a plain JSON error.
    release = (_stream_slot(req) if req.method != "HEAD" and length > LARGE_BODY
               else None)
    resp.content_type = content_type
    kind = disposition or ("inline" if content_type in INLINE_TYPES else "attachment")
    resp.set_header("Content-Disposition", content_disposition(kind, filename or "download"))
    if kind == "attachment":
        # Should a browser render it anyway, it runs nothing on our origin.
        resp.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
    if byte_range is None:
        resp.status = falcon.HTTP_200
    else:
        resp.status = falcon.HTTP_206
        resp.set_header("Content-Range", f"bytes {first}-{last}/{blob.size}")
    resp.content_length = length
    if req.method == "HEAD" or length == 0:
        return
    resp.stream = BlobStream(blobs.iter_blob(db, blob, first, last + 1), on_close=release)


def _stream_slot(req: falcon.Request) -> Callable[[], None] | None:
    slots: ConcurrencySlots | None = getattr(req.context, "stream_slots", None)
    if slots is None:
        return None
    user = getattr(req.context, "user", None)
    return slots.acquire(user.id if user is not None else req.remote_addr)
