"""Fixtures for the asset tests: real media made by ffmpeg, a remote file server on loopback.

Every test here talks to 127.0.0.1 only. Names other than ``localhost`` are resolved by a fake
resolver injected into the ingestor (``cdn.example.com`` → 127.0.0.1), so no DNS query leaves
the machine; unknown names fail to resolve.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from actorvid.api.context import AppContext
from actorvid.config import Settings
from actorvid.ingest import AssetIngestor
from actorvid.media.ffmpeg import FFmpeg
from tests.fakes.server import LoopbackServer

FAKE_NAMES = {"cdn.example.com": ["127.0.0.1"], "evil.example.com": ["127.0.0.1"],
              "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
              "localhost": ["127.0.0.1", "::1"]}

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
               b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")
SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- a logo -->\n'
       b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
       b'<script>alert(1)</script><rect width="40" height="30"/></svg>\n')


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "asset_settings(**overrides): Settings for this test")


def fake_resolver(host: str, port: int) -> list[str]:
    if host in FAKE_NAMES:
        return FAKE_NAMES[host]
    # Numeric forms (2130706433, 127.1) are parsed locally; names are never sent to DNS.
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_NUMERICHOST)
    return [str(info[4][0]) for info in infos]


# --- media -------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    def bytes(self, name: str) -> bytes:
        return (self.root / name).read_bytes()


_VIDEO = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.5"]
_TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.5"]
RECIPES: dict[str, list[str]] = {
    "image.png": ["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"],
    "image.jpg": ["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"],
    "image.gif": ["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"],
    "image.webp": ["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1",
                   "-c:v", "libwebp"],
    "pixel.png": ["-f", "lavfi", "-i", "color=c=red:size=1x1", "-frames:v", "1"],
    "strip.jpg": ["-f", "lavfi", "-i", "testsrc=size=9x3", "-frames:v", "1"],
    "wide.png": ["-f", "lavfi", "-i", "testsrc=size=1024x256", "-frames:v", "1"],
    "video.mp4": [*_VIDEO, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "video.mov": [*_VIDEO, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "video.webm": [*_VIDEO, "-c:v", "libvpx", "-b:v", "200k"],
    "video.mkv": [*_VIDEO, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "long.mp4": ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3",
                 "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    "audio.mp3": [*_TONE, "-c:a", "libmp3lame", "-b:a", "64k"],
    "audio.wav": [*_TONE, "-c:a", "pcm_s16le"],
    "audio.ogg": [*_TONE, "-c:a", "libvorbis"],
    "audio.aac": [*_TONE, "-c:a", "aac", "-f", "adts"],
    "audio.m4a": [*_TONE, "-c:a", "aac"],
    "audio-only.mp4": [*_TONE, "-c:a", "aac", "-f", "mp4"],
}


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    root = tmp_path_factory.mktemp("media")
    ffmpeg = FFmpeg.locate()
    for name, args in RECIPES.items():
        ffmpeg.run([*args, "-y", str(root / name)], timeout=60)
    (root / "doc.pdf").write_bytes(MINIMAL_PDF)
    (root / "logo.svg").write_bytes(SVG)
    # Right magic, nonsense after it: ffmpeg cannot read it.
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
                                      + b"\x00" * 2048)
    return Media(root)


# --- a remote file server on loopback ------------------------------------------------


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Remote:
    """A tiny HTTP server whose routes tests set; it records every request it gets."""

    server: LoopbackServer
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    def serve_bytes(self, path: str, body: bytes, content_type: str = "application/octet-stream",
                    *, length: bool = True) -> str:
        def handler(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", content_type)
            if length:
                h.send_header("Content-Length", str(len(body)))
            else:
                h.send_header("Connection", "close")  # the body ends when the socket does
                h.close_connection = True
            h.end_headers()
            h.wfile.write(body)

        self.routes[path] = handler
        return self.url + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        def handler(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        self.routes[path] = handler
        return self.url + path

    def drip(self, path: str, head: bytes, *, interval: float = 0.05, in_headers: bool = False
             ) -> str:
        """Send ``head`` then one byte per ``interval`` (or drip the headers themselves)."""

        def handler(h: http.server.BaseHTTPRequestHandler) -> None:
            try:
                if in_headers:
                    h.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    h.wfile.flush()
                    while not self.stop.wait(interval):
                        h.wfile.write(b"X-Drip: a\r\n")
                        h.wfile.flush()
                    return
                h.send_response(200)
                h.send_header("Content-Type", "image/png")
                h.send_header("Content-Length", str(10_000_000))
                h.end_headers()
                h.wfile.write(head)
                h.wfile.flush()
                while not self.stop.wait(interval):
                    h.wfile.write(b"\x00")
                    h.wfile.flush()
            except OSError:
                return  # the client hung up, as it should

        self.routes[path] = handler
        return self.url + path


@contextlib.contextmanager
def _running_remote() -> Iterator[Remote]:
    holder: dict[str, Remote] = {}

    class RequestHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            remote = holder["remote"]
            path = self.path.split("?", 1)[0]
            remote.hits.append((path, self.headers.get("Host", "")))
            handler = remote.routes.get(path)
            if handler is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            handler(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with LoopbackServer(handler=RequestHandler, name="remote-files", poll_interval=0.05
                        ) as server:
        remote = Remote(server)
        holder["remote"] = remote
        try:
            yield remote
        finally:
            remote.stop.set()  # before the server stops: handlers waiting on it let go


@pytest.fixture
def remote() -> Iterator[Remote]:
    with _running_remote() as remote:
        yield remote


@pytest.fixture
def trap() -> Iterator[Remote]:
    """A second server no fetch may ever reach: its ``hits`` must stay empty."""
    with _running_remote() as remote:
        yield remote


# --- app wiring --------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest, remote: Remote) -> Settings:
    overrides: dict[str, Any] = {
        "url_allowlist": (f"127.0.0.1:{remote.port}", "cdn.example.com"),
        "fetch_timeout_seconds": 10.0,
    }
    marker = request.node.get_closest_marker("asset_settings")
    if marker is not None:
        overrides.update(marker.kwargs)
    return settings.with_overrides(**overrides)


@pytest.fixture
def ctx(ctx: AppContext) -> AppContext:
    ctx.services["asset_ingestor"] = AssetIngestor(
        ctx.db, ctx.settings, new_id=ctx.new_id, clock=ctx.clock, resolver=fake_resolver)
    return ctx


# --- helpers -----------------------------------------------------------------------


def counts(ctx: AppContext) -> dict[str, int]:
    with ctx.db.read() as conn:
        return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("assets", "blobs", "blob_chunks")}


def upload(live_server: Any, user: Any, filename: str, data: bytes, *,
           fields: dict[str, str] | None = None, params: dict[str, str] | None = None,
           path: str = "/api/v3/assets", content_type: str = "application/octet-stream"
           ) -> requests.Response:
    files: list[tuple[str, Any]] = [(k, (None, v)) for k, v in (fields or {}).items()]
    files.insert(0, ("file", (filename, data, content_type)))
    return requests.post(live_server.url + path, files=files, params=params,
                         headers=user.headers, timeout=60)


def make_campaign(live_server: Any, user: Any) -> tuple[str, str]:
    client = requests.post(live_server.url + "/api/v3/clients", json={"name": "Acme"},
                           headers=user.headers, timeout=30).json()["data"]["id"]
    campaign = requests.post(live_server.url + "/api/v3/campaigns", json={
        "clientId": client, "name": "Launch", "goal": "Awareness"}, headers=user.headers,
        timeout=30).json()["data"]["id"]
    return client, campaign


def elapsed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start
