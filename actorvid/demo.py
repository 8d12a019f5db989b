"""``actorvid demo``: a whole video job, end to end, offline, through the real HTTP API.

It starts the service on a free loopback port over a fresh database, creates a user and a
campaign, uploads generated sample photos tagged by room, runs an image-pairs job with
``autoApprove`` (and a soundtrack), shows its progress, and writes the final MP4.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

from actorvid.app import build_app, create_context
from actorvid.config import Settings, load_settings
from actorvid.errors import ActorvidError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.serving import background_server

logger = logging.getLogger(__name__)

# (room tag, two looks per room: a gradient's colours)
ROOMS = (
    ("exterior", ("0x1d4e89", "0xf4d35e"), ("0x2a9d8f", "0xe9c46a")),
    ("living room", ("0x8d5524", "0xf1c27d"), ("0x6d597a", "0xeaac8b")),
    ("bedroom", ("0x355070", "0xe56b6f"), ("0x264653", "0xf4a261")),
    ("pool", ("0x0077b6", "0x90e0ef"), ("0x023e8a", "0x48cae4")),
)


class DemoFailed(RuntimeError):
    pass


def sample_photo(ffmpeg: FFmpeg, colors: tuple[str, str], dest: Path, seed: int) -> Path:
    """A 1280×720 still: a colour gradient with a soft frame and a tiled floor, different per
    room and look, with a little grain — the fine detail of a real photo, which is what shows
    whether a camera move glides or shimmers."""
    c0, c1 = colors
    ffmpeg.run(["-y", "-f", "lavfi", "-i",
                f"gradients=s=1280x720:c0={c0}:c1={c1}:x0=0:y0=0:x1=1280:y1=720:seed={seed}"
                ":speed=0.01,drawbox=x=80:y=60:w=1120:h=600:color=white@0.25:t=8,"
                "drawgrid=w=64:h=48:t=2:color=black@0.2,noise=alls=14:allf=u",
                "-frames:v", "1", str(dest)], timeout=60)
    return dest


class Progress:
    """One line on stderr, redrawn in place (plain lines when stderr is not a terminal)."""

    def __init__(self, stream: Any = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last = ""

    def show(self, percent: int, message: str) -> None:
        filled = int(self.width * max(0, min(100, percent)) / 100)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {message}"
        if line == self.last:
            return
        self.last = line
        if self.tty:
            self.stream.write("\r" + line.ljust(78))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def running_server(settings: Settings) -> Iterator[tuple[str, Any]]:
    """The real app with its actor system, served by waitress on a free loopback port."""
    ctx = create_context(settings, bootstrap=False, start_actors=True)
    try:
        with background_server(build_app(ctx)) as url:
            yield url, ctx
    finally:
        ctx.close()


def _check(resp: requests.Response, what: str) -> dict[str, Any]:
    if resp.status_code >= 400:
        try:
            reason = resp.json().get("error")
        except ValueError:
            reason = resp.text[:200]
        raise DemoFailed(f"{what} failed ({resp.status_code}): {reason}")
    return resp.json()["data"]


def creative_fields(aspect: str = "16:9", title: str = "", end: str = "",
                    transition: str = "cut") -> dict[str, Any]:
    """The job request's creative options for the demo's flags (title and end cards over
    the brand colour, so they read on the sample photos' bright gradients too)."""
    fields: dict[str, Any] = {"aspectRatio": aspect, "transition": transition}
    if title:
        fields["titleCard"] = {"text": title, "background": "brand"}
    if end:
        fields["endCard"] = {"text": end, "background": "brand"}
    return fields


def run_demo(output: Path, *, workdir: Path, pairs: int = 4, clip_duration: float = 4.0,
             audio: bool = True, timeout: float = 600.0, progress: Progress | None = None,
             creative: dict[str, Any] | None = None) -> dict[str, Any]:
    """Make one video and write it to ``output``; returns the finished job.

    ``creative``: creative options of the job request (see :func:`creative_fields`)."""
    progress = progress or Progress()
    base = load_settings()
    settings = replace(base, db_path=workdir / "demo.db", data_dir=workdir, provider="local")
    ffmpeg = FFmpeg.locate(settings.ffmpeg)
    progress.show(0, "Starting actorvid")
    with running_server(settings) as (url, ctx):
        user = ctx.accounts.create_user("demo", "demo@localhost", "demo-password")
        key = ctx.accounts.create_api_key(user.id, "demo").key
        session = requests.Session()
        session.headers["X-API-Key"] = key

        def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            return _check(session.request(method, url + path, timeout=60, **kwargs),
                          f"{method} {path}")

        client = call("POST", "/api/v3/clients", json={
            "name": "Casa Demo",
            "brandGuidelines": {"colors": ["#1d4e89", "#f4d35e"], "fonts": ["DejaVu Sans Bold"]}})
        campaign = call("POST", "/api/v3/campaigns", json={
            "clientId": client["id"], "name": "Summer at Casa Demo", "goal": "Bookings",
            "status": "active"})
        seed = 0
        for room, *looks in ROOMS:
            for look, colors in enumerate(looks, start=1):
                seed += 1
                progress.show(2 * seed, f"Uploading sample photos ({room})")
                photo = sample_photo(ffmpeg, colors, workdir / f"{room}-{look}.png", seed)
                with photo.open("rb") as handle:
                    call("POST", "/api/v3/assets",
                         files={"file": (photo.name, handle, "image/png")},
                         data={"campaignId": campaign["id"], "type": "image",
                               "name": f"{room.title()} {look}", "tags": f'["{room}"]'})
        job = call("POST", "/api/v3/jobs/from-image-pairs", json={
            "campaignId": campaign["id"], "numPairs": pairs, "clipDuration": clip_duration,
            "autoApprove": True, "generateAudio": audio, **(creative or {})})
        job_id = job["jobId"]
        deadline = time.monotonic() + timeout
        while True:
            state = call("GET", f"/api/v3/jobs/{job_id}")
            step = state["progress"]
            detail = (f" ({step['scenesCompleted']}/{step['scenesTotal']})"
                      if step["stage"] == "rendering" and step["scenesTotal"] else "")
            progress.show(max(16, step["percent"]), f"{step['message']}{detail}")
            if state["status"] == "completed":
                break
            if state["status"] in ("failed", "cancelled"):
                raise DemoFailed(f"job {job_id} {state['status']}: {state['error']}")
            if time.monotonic() > deadline:
                raise DemoFailed(f"job {job_id} did not finish within {timeout:.0f}s")
            time.sleep(0.5)  # the demo is the API's client: it polls like a frontend would
        with session.get(url + state["videoUrl"], stream=True, timeout=60) as resp:
            if resp.status_code != 200:
                raise DemoFailed(f"download failed ({resp.status_code})")
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("wb") as video:
                for piece in resp.iter_content(256 * 1024):
                    video.write(piece)
        progress.done()
        return state


def main(output: Path, *, keep: bool = False, pairs: int = 4, audio: bool = True,
         creative: dict[str, Any] | None = None) -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="actorvid-demo-"))
    try:
        job = run_demo(output, workdir=workdir, pairs=pairs, audio=audio, creative=creative)
    except (DemoFailed, ActorvidError, OSError, requests.RequestException) as exc:
        print(f"\ndemo failed: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"video: {output.resolve()}")
    print(f"  {job['duration']:.1f} s, {job['clipCount']} clips, soundtrack "
          f"{job['audio']['status']}, made in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return 0
