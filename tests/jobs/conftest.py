"""End-to-end job fixtures: a real server on loopback with the actor system, real media.

Two flavours: ``offline`` (local ffmpeg providers, no keys) and ``remote`` (the fake Replicate
and fake xAI over HTTP on loopback, reached through the configurable base URLs).
"""

from __future__ import annotations

import functools
import http.server
import subprocess
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from actorvid.actors.services import RuntimeOptions
from actorvid.app import build_app, create_context
from actorvid.config import Settings, load_settings
from actorvid.media.ffmpeg import FFmpeg
from tests.conftest import ApiUser, make_user, serve_in_thread, wait_until
from tests.fakes.replicate import FakeReplicate
from tests.fakes.server import LoopbackServer
from tests.fakes.xai import FakeXAI

FAST = RuntimeOptions(poll_first=0.05, poll_factor=1.5, poll_max=0.3, poll_min=0.02,
                      shutdown_timeout=10.0)
COLORS = ("red", "green", "blue", "orange", "purple", "yellow", "cyan", "magenta", "white",
          "gray", "brown", "pink", "navy", "olive", "teal", "maroon", "lime", "coral")
ROOMS = ("exterior", "lobby", "bedroom", "restaurant", "pool", "beach", "sunset")


@functools.cache
def png(color: str, size: str = "320x240") -> bytes:
    ffmpeg = FFmpeg.locate()
    proc = subprocess.run([ffmpeg.binary, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                           "-i", f"color=c={color}:s={size}", "-frames:v", "1", "-f", "image2",
                           "-c:v", "png", "-"], capture_output=True, check=True, timeout=60)
    return proc.stdout


@dataclass
class Api:
    """A user's view of a running server."""

    url: str
    user: ApiUser

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.user.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def campaign(self, name: str = "Villa") -> dict[str, Any]:
        client = self.post("/api/v3/clients", json={"name": "Acme"}).json()["data"]
        return self.post("/api/v3/campaigns", json={
            "clientId": client["id"], "name": name, "goal": "Bookings"}).json()["data"]

    def upload_image(self, campaign_id: str, color: str, tag: str) -> dict[str, Any]:
        resp = self.post("/api/v3/assets", files={"file": (f"{color}.png", png(color),
                                                           "image/png")},
                         data={"campaignId": campaign_id, "type": "image",
                               "tags": f'["{tag}"]', "name": f"{tag} {color}"})
        assert resp.status_code in (200, 201), resp.text
        return resp.json()["data"]

    def images(self, campaign_id: str, count: int) -> list[dict[str, Any]]:
        return [self.upload_image(campaign_id, COLORS[i % len(COLORS)], ROOMS[i % len(ROOMS)])
                for i in range(count)]

    def pairs_job(self, campaign_id: str, **fields: Any) -> int:
        """Start an image-pairs job (auto-approved unless ``fields`` say otherwise)."""
        resp = self.post("/api/v3/jobs/from-image-pairs", json={
            "campaignId": campaign_id, "autoApprove": True, **fields})
        assert resp.status_code == 201, resp.text
        return int(resp.json()["data"]["jobId"])

    def job(self, job_id: int | str) -> dict[str, Any]:
        resp = self.get(f"/api/v3/jobs/{job_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    def wait_status(self, job_id: int | str, *statuses: str, timeout: float = 120
                    ) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def reached() -> bool:
            found.update(self.job(job_id))
            if found["status"] in ("failed", "cancelled") and found["status"] not in statuses:
                raise AssertionError(f"job {job_id} {found['status']}: {found['error']}")
            return found["status"] in statuses

        wait_until(reached, timeout=timeout, interval=0.1,
                   message=f"job {job_id} to be {'/'.join(statuses)}")
        return found


@dataclass
class Server:
    api: Api
    ctx: Any
    settings: Settings


def start_server(settings: Settings, options: RuntimeOptions) -> Generator[Server, None, None]:
    ctx = create_context(settings, bootstrap=False, start_actors=True, runtime_options=options)
    try:
        user = make_user(ctx, "maker")
        for live in serve_in_thread(build_app(ctx)):
            yield Server(Api(live.url, user), ctx, settings)
    finally:
        ctx.close()


@pytest.fixture
def options() -> RuntimeOptions:
    return FAST


@pytest.fixture
def offline(settings: Settings, options: RuntimeOptions) -> Iterator[Server]:
    yield from start_server(settings, options)


@pytest.fixture
def remote_settings(settings: Settings, fake_replicate: FakeReplicate, fake_xai: FakeXAI
                    ) -> Settings:
    env = {"ACTORVID_DB": str(settings.db_path), "ACTORVID_DATA_DIR": str(settings.data_dir),
           "REPLICATE_API_KEY": fake_replicate.token,
           "ACTORVID_REPLICATE_BASE_URL": fake_replicate.api_url,
           "XAI_API_KEY": fake_xai.key, "ACTORVID_XAI_BASE_URL": fake_xai.api_url,
           "ACTORVID_PROVIDER": "auto"}
    return load_settings(env, dotenv=None)


@pytest.fixture
def remote(remote_settings: Settings, options: RuntimeOptions, fake_replicate: FakeReplicate
           ) -> Iterator[Server]:
    # Predictions take about half a second of real time at the fake's time scale.
    for model in ("google/veo-3.1", "minimax/hailuo-02", "meta/musicgen"):
        fake_replicate.set_timing(model, queue=10, run=40)
    yield from start_server(remote_settings, options)


@pytest.fixture
def photo_server(tmp_path: Path) -> Iterator[Callable[[str, bytes], str]]:
    """A static file server on loopback; returns a function that publishes bytes at a name."""
    root = tmp_path / "photos"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    with LoopbackServer(handler=handler, name="photos") as server:

        def publish(name: str, data: bytes) -> str:
            (root / name).write_bytes(data)
            return f"{server.url}/{name}"

        yield publish


def with_allowlist(settings: Settings, *entries: str) -> Settings:
    return replace(settings, url_allowlist=tuple(entries))


def probe(path: Path) -> Any:
    return FFmpeg.locate().probe(path)


def download(api: Api, path: str, dest: Path, **kwargs: Any) -> Path:
    resp = api.get(path, stream=True, **kwargs)
    assert resp.status_code == 200, resp.text[:500]
    with dest.open("wb") as handle:
        for piece in resp.iter_content(65536):
            handle.write(piece)
    return dest


def clips_total(api: Api, job_id: int | str, workdir: Path) -> float:
    """Sum of the probed durations of the job's stored clips."""
    total = 0.0
    subs = api.get(f"/api/v3/jobs/{job_id}/sub-jobs").json()["data"]["subJobs"]
    for sub in subs:
        if sub["status"] == "completed":
            path = download(api, sub["videoUrl"], workdir / f"clip-{sub['subJobNumber']}.mp4")
            total += probe(path).duration
    return total
