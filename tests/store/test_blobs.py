"""Chunked blobs: round trips, ranges, failure cleanup, and memory on 100 MiB."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from actorvid.errors import PayloadTooLarge
from actorvid.store import blobs
from actorvid.store.db import open_database


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "blobs.db")
    yield database
    database.close()


def pieces(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.mark.parametrize("chunk_size", [1024, 4096, 1 << 20])
@pytest.mark.parametrize("piece_size", [1, 1000, 65536])
def test_round_trip_and_ranges(db, chunk_size, piece_size):
    data = os.urandom(10_000 if piece_size == 1 else 300_000)
    info = blobs.write_blob(db, pieces(data, piece_size), chunk_size=chunk_size)
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert blobs.read_blob_bytes(db, info.id) == data
    for start, end in [(0, 1), (len(data) - 1, len(data)), (chunk_size - 1, chunk_size + 1),
                       (123, 9_999), (0, len(data)), (len(data) // 2, None)]:
        assert blobs.read_blob_bytes(db, info.id, start, end) == data[start:end]


def test_empty_blob(db):
    info = blobs.write_blob(db, [])
    assert info.size == 0
    assert blobs.read_blob_bytes(db, info.id) == b""


def test_size_cap_leaves_nothing(db):
    with pytest.raises(PayloadTooLarge):
        blobs.write_blob(db, pieces(os.urandom(5000), 100), max_size=4096, chunk_size=1024)
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM blob_chunks").fetchone()[0] == 0


def test_refusal_after_first_bytes_leaves_nothing(db):
    def refuse(first: bytes) -> None:
        raise ValueError("not an image")

    with pytest.raises(ValueError):
        blobs.write_blob(db, [b"x" * 10], on_first_bytes=refuse)
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 0


def test_incomplete_blobs_are_removed_at_start(db):
    def stream():
        yield b"a" * 5000
        raise KeyboardInterrupt  # a writer dying mid-stream still cleans up itself

    with pytest.raises(KeyboardInterrupt):
        blobs.write_blob(db, stream(), chunk_size=1024)
    with db.write() as conn:  # simulate a crash that left a half-written blob behind
        conn.execute("INSERT INTO blobs (id, chunk_size, created_at) VALUES ('x', 1024, 'now')")
    assert blobs.delete_incomplete(db) == 1


def test_100_mib_round_trip_uses_little_memory(tmp_path):
    """Write and read back 100 MiB in a fresh process; its peak RSS grows far less."""
    script = textwrap.dedent(f"""
        import hashlib, json, resource, sys
        from actorvid.store import blobs
        from actorvid.store.db import open_database

        def peak_mib():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        db = open_database({str(tmp_path / 'big.db')!r})
        block = bytes(range(256)) * 256  # 64 KiB
        total = 100 * 1024 * 1024
        before = peak_mib()
        info = blobs.write_blob(db, (block for _ in range(total // len(block))))
        digest = hashlib.sha256()
        size = 0
        for piece in blobs.iter_blob(db, info):
            digest.update(piece)
            size += len(piece)
        after = peak_mib()
        source = hashlib.sha256()
        for _ in range(total // len(block)):
            source.update(block)
        expected = source.hexdigest()
        print(json.dumps({{"growth_mib": after - before, "size": size,
                          "same": digest.hexdigest() == expected == info.sha256}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["size"] == 100 * 1024 * 1024
    assert result["same"]
    assert result["growth_mib"] < 32, result
