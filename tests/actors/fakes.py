"""Test doubles for the actor tests: a prediction service (in memory, or served over real HTTP
on loopback so a separate process can use it) and a minimal job workflow.

The provider counts at *its* side: every create, find, get and cancel is journaled, so "no
prediction was created twice" is asserted where the money would be spent.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any, BinaryIO
from urllib.parse import quote

import requests

from actorvid.actors.workflow import FinishedVideo, PlannedScene, Storyboard
from actorvid.errors import ProviderError
from actorvid.providers.base import ImageInput, MusicInput, Prediction, RenderInput
from actorvid.store import jobs
from actorvid.store.blobs import read_blob_bytes, write_blob
from actorvid.store.db import Database
from tests.fakes.server import LoopbackServer


def scene_of(tag: str) -> str:
    """The sub-job id a create tag belongs to (``job<id>/<sub_job_id>/<n>/<random>``)."""
    return tag.split("/")[1]


class FakeProvider:
    """A thread-safe PredictionService with knobs. Predictions stay ``processing`` until
    :attr:`release` is set (all) or their scene is in :attr:`release_scenes`."""

    name = "fake"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.predictions: dict[str, dict[str, Any]] = {}
        self.creates: list[str] = []  # tags, in order
        self.cancels: list[str] = []
        self.finds: list[str] = []
        self.gets = 0
        self.release = threading.Event()
        # knobs
        self.lose_create_answer: set[str] = set()  # scene ids: create, then "lose" the answer
        self.crash_get: dict[str, int] = {}  # scene id -> how many gets raise RuntimeError
        self.hang_get: dict[str, threading.Event] = {}  # scene id -> blocks get until set
        # Blocks every create after the prediction exists, until set (an answer on the wire).
        self.hang_create: threading.Event | None = None
        self.created = threading.Event()
        self.fail_scene: set[str] = set()  # scene ids whose prediction fails
        self.expire_once: set[str] = set()  # scene ids whose first output has expired

    # --- counting -----------------------------------------------------------------------

    def creates_per_scene(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(scene_of(tag) for tag in self.creates)

    def in_flight(self) -> list[str]:
        with self.lock:
            return [pid for pid, p in self.predictions.items()
                    if p["status"] in ("starting", "processing")]

    # --- the PredictionService protocol ---------------------------------------------------

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        with self.lock:
            pid = f"pred-{len(self.predictions) + 1}"
            self.predictions[pid] = {"tag": tag, "status": "starting", "scene": scene_of(tag)}
            self.creates.append(tag)
            lose = scene_of(tag) in self.lose_create_answer
            self.lose_create_answer.discard(scene_of(tag))
            hang = self.hang_create
        self.created.set()
        if hang is not None:
            hang.wait(30)
        if lose:
            raise ConnectionResetError("the answer to the create call was lost")
        return Prediction(pid, "starting")

    def find(self, tag: str, inputs: object = None, since: object = None) -> Prediction | None:
        with self.lock:
            self.finds.append(tag)
            for pid, p in self.predictions.items():
                if p["tag"] == tag:
                    return Prediction(pid, p["status"])
        return None

    def get(self, prediction_id: str) -> Prediction:
        with self.lock:
            p = self.predictions[prediction_id]
            scene = p["scene"]
            self.gets += 1
            crash = self.crash_get.get(scene, 0)
            if crash:
                self.crash_get[scene] = crash - 1
            hang = self.hang_get.get(scene)
        if crash:
            raise RuntimeError(f"poll of {prediction_id} blew up")
        if hang is not None:
            hang.wait(30)
        with self.lock:
            if p["status"] in ("starting", "processing"):
                if self.release.is_set():
                    p["status"] = "failed" if scene in self.fail_scene else "succeeded"
                else:
                    p["status"] = "processing"
            error = "model error" if p["status"] == "failed" else None
            removed = p["status"] == "succeeded" and scene in self.expire_once
            if removed:
                self.expire_once.discard(scene)
            return Prediction(prediction_id, p["status"], output=f"out/{prediction_id}",
                              error=error, data_removed=removed)

    def cancel(self, prediction_id: str) -> Prediction:
        with self.lock:
            p = self.predictions[prediction_id]
            self.cancels.append(prediction_id)
            if p["status"] in ("starting", "processing"):
                p["status"] = "canceled"
            return Prediction(prediction_id, p["status"])

    def download(self, prediction: Prediction, dest: BinaryIO) -> int:
        data = f"clip:{prediction.id};".encode()
        dest.write(data)
        return len(data)

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        return 0.25


# --- the same provider over real HTTP -------------------------------------------------------


def _prediction_json(p: Prediction | None) -> Any:
    return None if p is None else {"id": p.id, "status": p.status, "output": p.output,
                                   "error": p.error, "data_removed": p.data_removed}


class FakeProviderServer:
    """Serves a :class:`FakeProvider` on 127.0.0.1 (ephemeral port) for another process."""

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        fake = provider

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                parts = self.path.strip("/").split("/")
                if parts[0] == "find":
                    self._send(200, _prediction_json(fake.find(parts[1])))
                elif parts[0] == "predictions" and len(parts) == 2:
                    self._send(200, _prediction_json(fake.get(parts[1])))
                elif parts[0] == "output":
                    self._send(200, f"clip:{parts[1]};".encode())
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                parts = self.path.strip("/").split("/")
                if parts == ["predictions"]:
                    try:
                        p = fake.create(None, tag=body["tag"])  # type: ignore[arg-type]
                    except ConnectionResetError:
                        self.close_connection = True
                        return
                    self._send(201, _prediction_json(p))
                elif parts[0] == "predictions" and parts[-1] == "cancel":
                    self._send(200, _prediction_json(fake.cancel(parts[1])))
                else:
                    self._send(404, {"error": "not found"})

        self._server = LoopbackServer(handler=Handler, name="fake-provider")
        self.url = ""

    def __enter__(self) -> FakeProviderServer:
        self.url = self._server.start().url
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.stop()


class HttpFakeProvider:
    """A PredictionService client of :class:`FakeProviderServer` (timeouts on every call)."""

    name = "fake"

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()

    def _prediction(self, data: Any) -> Prediction | None:
        if data is None:
            return None
        return Prediction(data["id"], data["status"], data["output"], data["error"],
                          data_removed=data["data_removed"])

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.session.request(method, self.base_url + path, timeout=self.timeout,
                                        **kwargs)
        except requests.RequestException as exc:
            raise ProviderError(str(exc), retryable=False) from exc
        if resp.status_code >= 400:
            raise ProviderError(resp.text, status=resp.status_code,
                                retryable=resp.status_code >= 500)
        return resp.json()

    def create(self, inputs: RenderInput | MusicInput, *, tag: str) -> Prediction:
        created = self._prediction(self._call("POST", "/predictions", json={"tag": tag}))
        assert created is not None
        return created

    def find(self, tag: str, inputs: object = None, since: object = None) -> Prediction | None:
        return self._prediction(self._call("GET", f"/find/{quote(tag, safe='')}"))

    def get(self, prediction_id: str) -> Prediction:
        got = self._prediction(self._call("GET", f"/predictions/{prediction_id}"))
        assert got is not None
        return got

    def cancel(self, prediction_id: str) -> Prediction:
        done = self._prediction(self._call("POST", f"/predictions/{prediction_id}/cancel"))
        assert done is not None
        return done

    def download(self, prediction: Prediction, dest: BinaryIO) -> int:
        resp = self.session.get(f"{self.base_url}/output/{prediction.id}", timeout=self.timeout)
        resp.raise_for_status()
        dest.write(resp.content)
        return len(resp.content)

    def cost(self, inputs: RenderInput | MusicInput, prediction: Prediction) -> float:
        return 0.25


# --- a minimal workflow ---------------------------------------------------------------------


class SimpleWorkflow:
    """``parameters.scenes`` scenes; ``parameters.review`` makes the job wait for approval;
    ``parameters.explode`` makes prepare fail. ``finish`` concatenates the clips into a blob."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.prepares: collections.Counter[int] = collections.Counter()
        self.finishes: collections.Counter[int] = collections.Counter()
        self.crash_render_input: dict[int, int] = {}  # scene number -> crashes left

    def prepare(self, job: jobs.Job) -> Storyboard:
        with self.lock:
            self.prepares[job.id] += 1
        if job.parameters.get("explode"):
            raise ValueError(f"storyboard writer refused job {job.id}")
        count = int(job.parameters.get("scenes", 2))
        scenes = [{"scene_number": n, "prompt": f"job {job.id} scene {n}", "duration": 6.0,
                   "model": "hailuo"} for n in range(1, count + 1)]
        return Storyboard({"scenes": scenes}, estimated_cost=0.25 * count,
                          auto_approve=not job.parameters.get("review"))

    def scenes(self, job: jobs.Job) -> Sequence[PlannedScene]:
        assert job.storyboard is not None
        return [PlannedScene(**scene) for scene in job.storyboard["scenes"]]

    def soundtrack(self, job: jobs.Job, clips: Sequence[jobs.SubJob]) -> Sequence[PlannedScene]:
        return []

    def render_input(self, job: jobs.Job, sub_job: jobs.SubJob) -> RenderInput:
        with self.lock:
            left = self.crash_render_input.get(sub_job.scene_number, 0)
            if left:
                self.crash_render_input[sub_job.scene_number] = left - 1
        if left:
            raise RuntimeError(f"render_input of scene {sub_job.scene_number} blew up")
        image = ImageInput("asset", "image/png", 1, "blob")
        return RenderInput("hailuo", image, image, sub_job.prompt, int(sub_job.duration))

    def finish(self, job: jobs.Job, clips: Sequence[jobs.SubJob]) -> FinishedVideo:
        with self.lock:
            self.finishes[job.id] += 1
        pieces = [read_blob_bytes(self.db, clip.clip_blob_id) for clip in clips
                  if clip.clip_blob_id]
        blob = write_blob(self.db, pieces)
        return FinishedVideo(blob.id, {"scenes": len(clips), "size": blob.size})
