"""Test doubles for the actor tests: an in-memory prediction service and a minimal job pipeline.

The provider counts at *its* side: every create, find, get and cancel is journaled, so "no
prediction was created twice" is asserted where the money would be spent. Its knobs (a poll
that raises inside the provider, a create that blocks until released) reach into the actors'
own threads, which no HTTP fake can; tests that need the provider in another process (the
kill tests) use the fake Replicate through the real client instead (tests/fakes/replicate).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import Any, BinaryIO

from actorvid.actors.pipeline import FinishedVideo, PlannedScene, Storyboard
from actorvid.providers.base import MusicInput, Prediction, RenderInput
from actorvid.store import jobs
from actorvid.store.blobs import read_blob_bytes, write_blob
from actorvid.store.db import Database


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


# --- a minimal pipeline ---------------------------------------------------------------------


class SimplePipeline:
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
        # From the prompt alone (text-to-video): no frames to store or send.
        return RenderInput("hailuo", None, None, sub_job.prompt, int(sub_job.duration))

    def finish(self, job: jobs.Job, clips: Sequence[jobs.SubJob]) -> FinishedVideo:
        with self.lock:
            self.finishes[job.id] += 1
        pieces = [read_blob_bytes(self.db, clip.clip_blob_id) for clip in clips
                  if clip.clip_blob_id]
        blob = write_blob(self.db, pieces)
        return FinishedVideo(blob.id, {"scenes": len(clips), "size": blob.size})
