"""Chunked binaries in SQLite.

A blob is a row in ``blobs`` plus fixed-size rows in ``blob_chunks``. Each chunk row is inserted
with its bytes bound as a parameter, one short write transaction per chunk, so a 100 MiB clip
never holds the write lock for long and never sits whole in memory: the writer holds at most
two chunks (one stored and hashed, the next filling), a reader one piece per stream. A blob
is ``complete`` only once its last chunk is written; an interrupted write is deleted (here, or
at the next start by :func:`delete_incomplete`). Readers take a pooled connection per piece and
give it back before yielding, so a slow client never pins a connection.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from actorvid.clock import now_iso
from actorvid.errors import NotFound, PayloadTooLarge
from actorvid.store.db import Database

CHUNK_SIZE = 1024 * 1024
PIECE_SIZE = 256 * 1024  # what a reader yields at a time


@dataclass(frozen=True, slots=True)
class BlobInfo:
    id: str
    size: int
    sha256: str
    chunk_size: int = CHUNK_SIZE


def iter_file(fileobj: BinaryIO, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
    """Read a binary file object in pieces (for :func:`write_blob`)."""
    while True:
        piece = fileobj.read(piece_size)
        if not piece:
            return
        yield piece


def _insert_chunk(conn: sqlite3.Connection, blob_id: str, seq: int,
                  data: bytes | bytearray | memoryview) -> None:
    # Bound as a parameter, the chunk's pages are written once; a zeroblob filled through
    # blobopen wrote every page twice (zeros, then the data) and took a third of an upload.
    conn.execute("INSERT INTO blob_chunks (blob_id, seq, data) VALUES (:blob_id, :seq, :data)",
                 {"blob_id": blob_id, "seq": seq, "data": data})


ChunkSink = Callable[[memoryview], None]


class _Stage:
    """Runs ``take`` on each chunk in order, on a helper thread of its own, while the writing
    thread reads the next chunk: hashlib, file writes and sqlite3 all release the GIL, so on
    two cores an upload's hash, its probe copy and its SQLite inserts overlap with each other
    and with reading the request (issue 17).

    One chunk at a time: :meth:`submit` first waits for the previous one, so chunks are taken
    in order and a stage holds at most one. The thread starts with the second chunk, so a
    blob of one chunk (a thumbnail, a document) is taken in line without starting a thread;
    ``inline`` takes every chunk so (the caller's thread holds the write lock).
    """

    def __init__(self, take: Callable[[bytearray], None], name: str, *,
                 inline: bool = False) -> None:
        self._take = take
        self._name = name
        self._inline = inline
        self._helper: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def submit(self, chunk: bytearray, *, last: bool) -> None:
        self.wait()
        if self._inline or (last and self._helper is None):
            self._take(chunk)
            return
        if self._helper is None:
            self._helper = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        self._pending = self._helper.submit(self._take, chunk)

    def wait(self) -> None:
        """Until the chunk last submitted is taken; raises what taking it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Let the helper finish (a caller may delete what a chunk was written to next)."""
        if self._helper is not None:
            self._helper.shutdown(wait=True)
            self._helper = None


def write_blob(
    db: Database,
    pieces: Iterable[bytes],
    *,
    max_size: int | None = None,
    on_first_bytes: Callable[[bytes], None] | None = None,
    on_chunk: ChunkSink | None = None,
    blob_id: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    complete: bool = True,
) -> BlobInfo:
    """Stream ``pieces`` into a new blob and return its id, size and SHA-256.

    One short write transaction per chunk. ``max_size`` raises :class:`PayloadTooLarge` as soon
    as it is passed. ``on_first_bytes`` is called once with the first chunk (at most
    ``chunk_size`` bytes) before it is stored, so a caller can sniff magic bytes and raise to
    refuse the upload. ``on_chunk`` sees every chunk in order (after ``on_first_bytes``; on
    a helper thread, see :class:`_Stage`, while the chunk is hashed and stored), so a caller
    that needs another copy of the bytes takes it in this same pass; it has returned for
    every chunk when this function returns or raises. On any error nothing is left. With
    ``complete=False`` the blob is left incomplete, to be marked by :func:`mark_complete` in
    the same transaction as the row that refers to it (the legacy import does); until then
    the next start removes it.
    """
    blob_id = blob_id or uuid.uuid4().hex
    with db.write() as conn:
        conn.execute(
            """
            INSERT INTO blobs (id, size, chunk_size, complete, created_at)
            VALUES (:id, 0, :chunk_size, 0, :created_at)
            """,
            {"id": blob_id, "chunk_size": chunk_size, "created_at": now_iso()},
        )
    digest = hashlib.sha256()
    seq = 0

    def take_digest(chunk: bytearray) -> None:
        digest.update(chunk)
        if on_chunk is not None:
            on_chunk(memoryview(chunk))

    def take_store(chunk: bytearray) -> None:
        nonlocal seq
        with db.write() as conn:
            _insert_chunk(conn, blob_id, seq, chunk)
        seq += 1

    stages = (_Stage(take_digest, "actorvid-blob-digest"),
              # A caller inside a write transaction holds the lock a helper would wait for.
              _Stage(take_store, "actorvid-blob-store", inline=db.writing_here()))
    size = 0
    first = True

    def flush(chunk: bytearray, *, last: bool) -> None:
        nonlocal first
        if first and on_first_bytes is not None:
            on_first_bytes(bytes(chunk[:4096]))
        first = False
        # Each chunk is a buffer of its own, never written to again: both stages read it
        # at once, and no slice of a shared buffer is copied out for either.
        for stage in stages:
            stage.submit(chunk, last=last)

    try:
        try:
            buffer = bytearray()
            for piece in pieces:
                if not piece:
                    continue
                size += len(piece)
                if max_size is not None and size > max_size:
                    raise PayloadTooLarge(f"File exceeds the maximum size of {max_size} bytes")
                view = memoryview(piece)
                while len(buffer) + len(view) >= chunk_size:
                    room = chunk_size - len(buffer)
                    buffer += view[:room]
                    view = view[room:]
                    flush(buffer, last=False)
                    buffer = bytearray()
                buffer += view
            if buffer or first:
                flush(buffer, last=True)
            for stage in stages:
                stage.wait()
        finally:
            for stage in stages:
                stage.close()
        info = BlobInfo(blob_id, size, digest.hexdigest(), chunk_size)
        if complete:
            with db.write() as conn:
                mark_complete(conn, info)
    except BaseException:
        delete_blob(db, blob_id)
        raise
    return info


def mark_complete(conn: sqlite3.Connection, info: BlobInfo) -> BlobInfo:
    """Finish a blob written with ``complete=False`` (inside the caller's write transaction)."""
    conn.execute(
        "UPDATE blobs SET size = :size, sha256 = :sha256, complete = 1 WHERE id = :id",
        {"size": info.size, "sha256": info.sha256, "id": info.id},
    )
    return info


def write_blob_from_file(db: Database, fileobj: BinaryIO, **kwargs: object) -> BlobInfo:
    return write_blob(db, iter_file(fileobj), **kwargs)  # type: ignore[arg-type]


def delete_blob(db: Database, blob_id: str | None) -> None:
    """Delete a blob and its chunks (no error when it does not exist)."""
    if not blob_id:
        return
    with db.write() as conn:
        conn.execute("DELETE FROM blobs WHERE id = :id", {"id": blob_id})


def delete_incomplete(db: Database) -> int:
    """Remove blobs whose writer died before finishing. Run at start, before serving."""
    with db.write() as conn:
        cur = conn.execute("DELETE FROM blobs WHERE complete = 0")
        return cur.rowcount


# Every column that holds a blob id. A blob is written before the row that names it, so a
# process killed between the two leaves a complete blob nobody references.
BLOB_REFERENCES = (
    ("assets", "blob_id"), ("assets", "thumbnail_blob_id"),
    ("jobs", "video_blob_id"), ("jobs", "thumbnail_blob_id"), ("jobs", "audio_blob_id"),
    ("sub_jobs", "clip_blob_id"), ("sub_jobs", "shot_blob_id"),
    ("local_predictions", "output_blob_id"), ("previews", "blob_id"),
)

_REFERENCED = " UNION ".join(
    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
    for table, column in BLOB_REFERENCES)


def delete_unreferenced(db: Database) -> int:
    """Remove complete blobs nobody references. Only safe while no write is in flight: run it
    at start, under the database's owner lock, before serving."""
    with db.write() as conn:
        cur = conn.execute(
            f"DELETE FROM blobs WHERE complete = 1 AND id NOT IN ({_REFERENCED})")
        return cur.rowcount


def get_blob(conn: sqlite3.Connection, blob_id: str) -> BlobInfo:
    row = conn.execute(
        "SELECT id, size, sha256, chunk_size FROM blobs WHERE id = :id AND complete = 1",
        {"id": blob_id},
    ).fetchone()
    if row is None:
        raise NotFound("Blob not found")
    return BlobInfo(row["id"], row["size"], row["sha256"] or "", row["chunk_size"])


def blob_info(db: Database, blob_id: str) -> BlobInfo:
    with db.read() as conn:
        return get_blob(conn, blob_id)


def _read_span(conn: sqlite3.Connection, blob_id: str, seq: int, offset: int, length: int
               ) -> bytes:
    row = conn.execute(
        "SELECT rowid FROM blob_chunks WHERE blob_id = :blob_id AND seq = :seq",
        {"blob_id": blob_id, "seq": seq},
    ).fetchone()
    if row is None:
        raise NotFound("Blob data is missing")
    with conn.blobopen("blob_chunks", "data", row[0], readonly=True) as handle:
        handle.seek(offset)
        return handle.read(length)


def iter_blob(
    db: Database,
    blob: BlobInfo,
    start: int = 0,
    end: int | None = None,
    *,
    piece_size: int = PIECE_SIZE,
) -> Iterator[bytes]:
    """Yield bytes ``start`` to ``end`` (exclusive; default: the end) of ``blob`` in pieces.

    Each piece is read on its own (a connection borrowed for one piece, never across a
    ``yield``): a download in flight holds one piece, not a whole chunk and its slices."""
    stop = blob.size if end is None else min(end, blob.size)
    position = max(start, 0)
    while position < stop:
        seq, offset = divmod(position, blob.chunk_size)
        length = min(piece_size, blob.chunk_size - offset, stop - position)
        with db.read() as conn:
            data = _read_span(conn, blob.id, seq, offset, length)
        if len(data) != length:
            raise NotFound("Blob data is truncated")
        yield data
        position += length


def read_blob_bytes(db: Database, blob_id: str, start: int = 0, end: int | None = None) -> bytes:
    """Read a (small) blob or range of one whole; for thumbnails and tests, never for videos."""
    return b"".join(iter_blob(db, blob_info(db, blob_id), start, end))


def copy_blob_to_file(db: Database, blob_id: str, fileobj: BinaryIO) -> int:
    """Write a blob into an open file (for ffmpeg, which wants a path). Returns bytes written."""
    written = 0
    for piece in iter_blob(db, blob_info(db, blob_id)):
        fileobj.write(piece)
        written += len(piece)
    return written
