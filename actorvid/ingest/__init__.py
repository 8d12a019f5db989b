"""Asset ingestion: sniff → stream into a blob → probe → thumbnail → insert the row.

A synchronous service used by the HTTP routes and, later, by job code that ingests URLs
(property photos). Nothing here knows about HTTP requests; errors are the client-facing ones of
:mod:`actorvid.errors` (415 for bytes we refuse, 413 over the cap, 422 for bad references) or
:mod:`actorvid.netfetch`'s for URLs.

Two phases, so an upload whose form fields come after its file can still be checked:
:meth:`AssetIngestor.receive` stores the bytes (refusing unknown or mismatching magic before the
first chunk is written), :meth:`AssetIngestor.complete` probes, thumbnails and inserts the row,
and deletes the blobs again if anything fails. :meth:`ingest_stream` and :meth:`ingest_url` do
both. The checks (type, references) are in :mod:`actorvid.ingest.checks`.

URLs are fetched on one process-wide :class:`~actorvid.limits.FairPool` keyed by user: users
take turns and each has at most ``ACTORVID_FETCH_PER_USER`` fetches running, so one tenant's
slow URLs queue behind its own, not in front of another tenant's. :meth:`ingest_urls` gives a
whole batch (a bulk request, a job's photos) one deadline; the caller's thread waits for the
pool no longer than that, and fetches still running stop at it too.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from actorvid import tempspace
from actorvid.clock import Clock, IdFactory, isoformat_z, new_uuid, utc_now
from actorvid.config import Settings
from actorvid.errors import (
    MediaError,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from actorvid.ingest.checks import check_type
from actorvid.limits import FairPool
from actorvid.media import magic
from actorvid.media.ffmpeg import FFmpeg, MediaBusy, MediaInfo, MediaSlots
from actorvid.media.mp4index import MP4_FORMATS, movie_duration
from actorvid.media.thumbnail import frame_time, make_thumbnail, probe_and_thumbnail
from actorvid.netfetch import DownloadFailed, FetchPolicy, Resolver, fetch, system_resolver
from actorvid.store import assets as asset_store
from actorvid.store import blobs
from actorvid.store.assets import Asset
from actorvid.store.db import Database
from actorvid.store.models import Scope

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 60.0
MEDIA_SLOT_WAIT = 120.0
_Looked = TypeVar("_Looked")



@dataclass(frozen=True)
class AssetSpec:
    """What the caller says about a new asset; the bytes decide type and format."""

    user_id: int
    name: str | None = None
    declared_type: str | None = None
    client_id: str | None = None
    campaign_id: str | None = None
    tags: tuple[str, ...] = ()
    source_url: str | None = None
    make_thumbnail: bool = True


@dataclass(frozen=True)
class UrlItem:
    """One URL to ingest, what to call the asset, and where a refusal is reported."""

    url: str
    spec: AssetSpec
    loc: Sequence[str | int] = ("body", "url")


@dataclass(frozen=True)
class Received:
    """Bytes stored as a blob, with what their magic says they are."""

    blob: blobs.BlobInfo
    sniffed: magic.Sniffed
    head: bytes = field(repr=False, default=b"")
    # The copy ffmpeg probes, written in the same pass as the blob (media types only).
    probe_path: str | None = None


def needs_probe(sniffed: magic.Sniffed) -> bool:
    """Whether ffmpeg looks at these bytes (documents and SVGs are never handed to it)."""
    return sniffed.asset_type != "document" and sniffed is not magic.SVG


class _ProbeCopy:
    """A temp file that receives the body's chunks while they are stored, once the first
    bytes say ffmpeg will need them; so no second pass reads the blob back out of SQLite."""

    def __init__(self) -> None:
        self.handle: Any = None
        self.path: str | None = None

    def open_for(self, sniffed: magic.Sniffed) -> None:
        if needs_probe(sniffed):
            fd, self.path = tempspace.make_file("actorvid-asset-", f".{sniffed.format}")
            self.handle = os.fdopen(fd, "wb")

    def write(self, data: memoryview | bytes) -> None:
        if self.handle is not None:
            self.handle.write(data)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def remove(self) -> None:
        self.close()
        _unlink(self.path)


def _thumbnail_time(path: str, sniffed: magic.Sniffed) -> float | None:
    """Where an upload's thumbnail is taken, when that is known before ffmpeg probes it: 0
    for an image, :func:`frame_time` of an MP4/MOV's own duration; None otherwise (a WebM's
    or an AVI's duration takes ffmpeg, so its thumbnail takes a second run)."""
    if sniffed.asset_type == "image":
        return 0.0
    if sniffed.format in MP4_FORMATS:
        duration = movie_duration(path)
        return None if duration is None else frame_time(duration)
    return None


def _unlink(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


class AssetIngestor:
    """Turns bytes (a stream or a URL) into a stored, probed asset."""

    def __init__(self, db: Database, settings: Settings, *, new_id: IdFactory = new_uuid,
                 clock: Clock = utc_now, resolver: Resolver = system_resolver,
                 ffmpeg: FFmpeg | None = None, media_slots: MediaSlots | None = None) -> None:
        self.db = db
        self.fetch_pool = FairPool(settings.fetch_workers, settings.fetch_per_user,
                                   name="actorvid-fetch")
        self.settings = settings
        self.new_id = new_id
        self.clock = clock
        self.resolver = resolver
        self._ffmpeg = ffmpeg
        self._media_slots = media_slots
        self.policy = FetchPolicy.from_settings(settings)

    @property
    def ffmpeg(self) -> FFmpeg:
        if self._ffmpeg is None:
            try:
                # A request thread waits a bounded time for one of the process's ffmpeg slots.
                self._ffmpeg = FFmpeg.locate(self.settings.ffmpeg, slots=self._media_slots
                                             ).waiting_at_most(MEDIA_SLOT_WAIT)
            except MediaError:
                logger.error("ffmpeg is not available; media cannot be ingested")
                raise ServiceUnavailable("Media processing is unavailable") from None
        return self._ffmpeg

    # --- phase 1: bytes into a blob --------------------------------------------------

    def receive(self, pieces: Iterable[bytes], *, declared_type: str | None = None,
                max_size: int | None = None) -> Received:
        """Stream ``pieces`` into a new blob, refusing bad magic before anything is stored.

        One read of the body: the blob's hash and chunks and, for media, ffmpeg's copy."""
        seen: dict[str, Any] = {}
        copy = _ProbeCopy()

        def sniff_first(head: bytes) -> None:
            seen["sniffed"] = check_type(magic.sniff(head), declared_type)
            seen["head"] = head
            copy.open_for(seen["sniffed"])

        try:
            info = blobs.write_blob(
                self.db, pieces, on_first_bytes=sniff_first, on_chunk=copy.write,
                max_size=self.settings.max_upload_bytes if max_size is None else max_size)
            copy.close()
        except BaseException:
            copy.remove()
            raise
        if "sniffed" not in seen:  # an empty body never reaches the sniffer with bytes
            blobs.delete_blob(self.db, info.id)
            raise UnsupportedMediaType("The file is empty")
        return Received(info, seen["sniffed"], seen["head"], copy.path)

    def discard(self, received: Received) -> None:
        _unlink(received.probe_path)
        blobs.delete_blob(self.db, received.blob.id)

    # --- phase 2: probe, thumbnail, row ----------------------------------------------

    def complete(self, received: Received, spec: AssetSpec) -> Asset:
        """Probe and thumbnail ``received``, insert its row; on failure delete its blobs."""
        thumbnail_id: str | None = None
        try:
            check_type(received.sniffed, spec.declared_type)
            sniffed, width, height, duration, extra, thumbnail = self._inspect(received, spec)
            if thumbnail is not None:
                thumbnail_id = blobs.write_blob(self.db, [thumbnail]).id
            asset_id = self.new_id()
            asset = Asset(
                id=asset_id, user_id=spec.user_id, client_id=spec.client_id,
                campaign_id=spec.campaign_id,
                name=(spec.name or "").strip() or f"asset.{sniffed.format}",
                asset_type=sniffed.asset_type, format=sniffed.format,
                content_type=sniffed.content_type, size=received.blob.size, width=width,
                height=height, duration=duration, tags=tuple(spec.tags),
                source_url=spec.source_url, blob_id=received.blob.id,
                sha256=received.blob.sha256, thumbnail_blob_id=thumbnail_id,
                metadata=extra or None, uploaded_at=isoformat_z(self.clock()))
            try:
                with self.db.write() as conn:
                    stored = asset_store.insert_asset(conn, asset)
            except sqlite3.IntegrityError:
                # The client or campaign was deleted while the bytes streamed in.
                raise ValidationFailed("Client or campaign no longer exists", [
                    {"loc": ["body", "campaignId" if spec.campaign_id else "clientId"],
                     "msg": "Client or campaign no longer exists", "type": "not_found"}]
                ) from None
        except BaseException:
            blobs.delete_blob(self.db, thumbnail_id)
            self.discard(received)
            raise
        logger.info("ingested asset %s (%s/%s, %d bytes) for user %s", stored.id,
                    stored.asset_type, stored.format, stored.size, spec.user_id)
        return stored

    def _inspect(self, received: Received, spec: AssetSpec
                 ) -> tuple[magic.Sniffed, int | None, int | None, float | None,
                            dict[str, Any], bytes | None]:
        sniffed = received.sniffed
        if sniffed.asset_type == "document":
            return sniffed, None, None, None, {}, None
        if sniffed is magic.SVG:
            # Not rasterised: an untrusted SVG is not handed to a renderer.
            width, height = magic.svg_size(received.head)
            return sniffed, width, height, None, {}, None
        ffmpeg = self.ffmpeg
        path = received.probe_path
        if path is None:  # receive() makes one for every type that reaches this line
            raise RuntimeError(f"no probe copy of a {sniffed.format} upload")
        try:
            wanted = spec.make_thumbnail and sniffed.asset_type in ("image", "video")
            at = _thumbnail_time(path, sniffed) if wanted else None
            made: bytes | MediaError | None = None
            if at is None:
                info = self._probe(ffmpeg, path, sniffed)
            else:  # where the frame is is known before ffmpeg looks: one run for both
                known = at
                info, made = self._media(lambda: probe_and_thumbnail(ffmpeg, path, at=known),
                                         sniffed)
            sniffed = self._refine(sniffed, info, spec.declared_type)
            thumbnail = None
            if spec.make_thumbnail and sniffed.asset_type in ("image", "video"):
                if made is None:
                    at = frame_time(info.duration) if sniffed.asset_type == "video" else 0.0
                    try:
                        made = make_thumbnail(ffmpeg, path, at=at)
                    except MediaBusy:
                        raise ServiceUnavailable("Media processing is busy; try again"
                                                 ) from None
                    except MediaError as exc:
                        made = exc
                if isinstance(made, MediaError):
                    logger.warning("no thumbnail for a %s upload: %s %s", sniffed.format,
                                   made.message, made.stderr_tail[-300:])
                else:
                    thumbnail = made
        finally:
            _unlink(path)
        visual = sniffed.asset_type in ("image", "video")
        timed = sniffed.asset_type in ("video", "audio")
        extra = {k: v for k, v in (("videoCodec", info.video_codec),
                                   ("audioCodec", info.audio_codec), ("fps", info.fps))
                 if v is not None}
        return (sniffed, info.width if visual else None, info.height if visual else None,
                round(info.duration, 3) if timed and info.duration else None, extra,
                thumbnail)

    @classmethod
    def _probe(cls, ffmpeg: FFmpeg, path: str, sniffed: magic.Sniffed) -> MediaInfo:
        return cls._media(lambda: ffmpeg.probe(path, timeout=PROBE_TIMEOUT), sniffed)

    @staticmethod
    def _media(look: Callable[[], _Looked], sniffed: magic.Sniffed) -> _Looked:
        """Run ``look`` (ffmpeg reading the upload), its failures as the client's errors."""
        try:
            return look()
        except MediaBusy:
            raise ServiceUnavailable("Media processing is busy; try again") from None
        except MediaError as exc:
            if exc.message.startswith("ffmpeg could not be started"):
                logger.error("ffmpeg could not be started: %s", exc.message)
                raise ServiceUnavailable("Media processing is unavailable") from None
            raise UnsupportedMediaType(
                f"The file looks like {sniffed.format} but could not be read as "
                f"{sniffed.asset_type}") from None

    @staticmethod
    def _refine(sniffed: magic.Sniffed, info: MediaInfo, declared: str | None
                ) -> magic.Sniffed:
        if sniffed.may_be_audio and not info.has_video and info.has_audio:
            sniffed = magic.AUDIO_ONLY[sniffed.format]
        readable = info.has_audio if sniffed.asset_type == "audio" else info.has_video
        if not readable:
            raise UnsupportedMediaType(
                f"The file looks like {sniffed.format} but holds no {sniffed.asset_type} "
                "stream")
        if declared is not None and declared != sniffed.asset_type:
            # Now that ffmpeg has looked inside, "may be audio" is settled one way or the other.
            raise UnsupportedMediaType(
                f"The file content is {sniffed.asset_type} ({sniffed.format}), "
                f"but its type was given as {declared}")
        return sniffed

    # --- both phases -----------------------------------------------------------------

    def ingest_stream(self, pieces: Iterable[bytes], spec: AssetSpec) -> Asset:
        received = self.receive(pieces, declared_type=spec.declared_type)
        return self.complete(received, spec)

    def ingest_url(self, url: str, spec: AssetSpec, *, loc: Sequence[str | int] = ("body", "url"),
                   deadline: float | None = None) -> Asset:
        """Fetch ``url`` safely (see :mod:`actorvid.netfetch`) and ingest what it returns,
        within ``deadline`` (``time.monotonic()``; default: ``ACTORVID_INGEST_DEADLINE_SECONDS``
        from now)."""
        result = self.ingest_urls([UrlItem(url, spec, loc)], deadline=deadline)[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def ingest_urls(self, items: Sequence[UrlItem], *, deadline: float | None = None
                    ) -> list[Asset | BaseException]:
        """Ingest every item on the fair fetch pool under one deadline; per item the asset or
        the error. Items not finished at the deadline fail with :class:`DownloadFailed`."""
        now = time.monotonic()
        if deadline is None:
            deadline = now + self.settings.ingest_deadline_seconds
        budget = max(0.0, deadline - now)
        futures = [self.fetch_pool.submit(item.spec.user_id,
                                          functools.partial(self._fetch_one, item, deadline,
                                                            budget))
                   for item in items]
        wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        return [self._outcome(future, budget) for future in futures]

    def brief_asset_ids(self, items: Sequence[dict[str, Any]], spec: AssetSpec, *,
                        scope: Scope, loc: Sequence[str | int],
                        deadline: float | None = None) -> list[str | BaseException | None]:
        """The asset of every ``creative.assets`` item of a brief, in order: its ``assetId``,
        else the client's asset already fetched from its ``url``, else the ``url`` fetched now
        (all of them on one deadline, see :meth:`ingest_urls`). None for an item with neither;
        the error for a URL that could not be fetched. ``spec`` says whose assets they are.

        The API calls it at request time (so the answer carries the ids) and the standard
        pipeline again at preparation; the second call finds the first one's assets.
        """
        with self.db.read() as conn:
            found, _ = asset_store.list_assets(conn, scope=scope, limit=1000, offset=0,
                                               client_id=spec.client_id)
        by_source = {a.source_url: a.id for a in found if a.source_url}
        ids: list[str | BaseException | None] = [
            item.get("assetId") or by_source.get(item.get("url") or "") for item in items]
        wanted = [(index, item) for index, item in enumerate(items)
                  if ids[index] is None and item.get("url")]
        fetched = self.ingest_urls([UrlItem(item["url"], replace(
            spec, name=item.get("name"), declared_type=item.get("type") or "image"),
            loc=(*loc, index, "url")) for index, item in wanted], deadline=deadline)
        for (index, _), outcome in zip(wanted, fetched, strict=True):
            ids[index] = outcome if isinstance(outcome, BaseException) else outcome.id
        return ids

    @staticmethod
    def _outcome(future: Future[Asset], budget: float) -> Asset | BaseException:
        if future.done() and not future.cancelled():
            return future.exception() or future.result()
        future.cancel()  # still queued: never starts; running: stops at its deadline
        return _out_of_time(budget)

    def _fetch_one(self, item: UrlItem, deadline: float, budget: float) -> Asset:
        if time.monotonic() >= deadline:  # waited in the queue past the caller's budget
            raise _out_of_time(budget)
        fetched = fetch(item.url, self.policy, resolver=self.resolver, loc=item.loc,
                        deadline=deadline)
        try:
            received = self.receive(fetched.iter_body(), declared_type=item.spec.declared_type)
        finally:
            fetched.close()
        if time.monotonic() >= deadline:  # the caller has gone: store nothing it never sees
            self.discard(received)
            raise _out_of_time(budget)
        return self.complete(received, replace(item.spec,
                                               source_url=item.spec.source_url or item.url))


def _out_of_time(budget: float) -> DownloadFailed:
    return DownloadFailed(f"the time budget of {budget:.0f} s for fetching URLs ran out")
