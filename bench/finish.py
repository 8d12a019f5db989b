"""Benchmark of the finish step: 7 × 8 s 720p clips → the finished video, with its floor.

    .venv/bin/python bench/finish.py [--clips 7] [--seconds 8] [--runs 3]

Veo-like clips (1280×720, 24 fps, H.264 with AAC sound) are stored in a fresh database as the
completed clips of one job, exactly as a SceneActor leaves them. Then, with the pipeline's own
code and the process's ffmpeg:

- ``normalise`` each clip (what happens on the media pool as each clip arrives, while the
  other scenes still render) — reported per clip;
- ``finish`` without a soundtrack and with a local one (seven music segments made by the
  local music bed, stored as the music chain leaves them) — the finish step proper;
- "last clip stored → completed" = normalising the last clip + the finish step: in a job the
  last clip's shot is the only normalising that cannot overlap a render;
- the floor, in the same run: ``ffmpeg -f concat -c copy +faststart`` of the same clips.

Each finished video is checked with ``actorvid.media.inspect.problems``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actorvid.clock import now_iso  # noqa: E402
from actorvid.config import load_settings  # noqa: E402
from actorvid.media import inspect  # noqa: E402
from actorvid.media.audio import bed_args, style_for  # noqa: E402
from actorvid.media.ffmpeg import FFmpeg  # noqa: E402
from actorvid.pipelines.common import VideoPipeline  # noqa: E402
from actorvid.pipelines.deps import PipelineDeps  # noqa: E402
from actorvid.pipelines.soundtrack import plan_segments, requested_seconds  # noqa: E402
from actorvid.store import blobs, users  # noqa: E402
from actorvid.store import jobs as job_store  # noqa: E402
from actorvid.store.db import Database, open_database  # noqa: E402


def veo_clip(ffmpeg: FFmpeg, path: Path, seconds: float, index: int) -> Path:
    ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=24:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency={300 + 50 * index}:duration={seconds}",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-ar", "48000", "-ac", "2", "-y", str(path)])
    return path


def store_file(db: Database, path: Path) -> str:
    with path.open("rb") as handle:
        return blobs.write_blob_from_file(db, handle).id


def completed(db: Database, job_id: int, kind: str, durations: list[float],
              blob_ids: list[str]) -> None:
    with db.write() as conn:
        job_store.insert_sub_jobs(conn, job_id, [
            job_store.NewSubJob(f"{kind}-{job_id}-{i}", i, "p", d, "veo3", kind=kind,
                                input={"resolution": "720p", "aspectRatio": "16:9"})
            for i, d in enumerate(durations, start=1)], now=now_iso())
    for i, blob_id in enumerate(blob_ids, start=1):
        sub_id = f"{kind}-{job_id}-{i}"
        with db.write() as conn:
            job_store.begin_attempt(conn, sub_id, tag=f"t{i}", provider="bench", input={},
                                    now=now_iso())
            job_store.complete_sub_job(conn, sub_id, clip_blob_id=blob_id, cost=0.0,
                                       now=now_iso())


def new_job(db: Database, user_id: int, durations: list[float], clip_ids: list[str], *,
            soundtrack: bool, workdir: Path, ffmpeg: FFmpeg) -> job_store.Job:
    scenes = [{"sceneNumber": i, "duration": d, "resolution": "720p", "aspectRatio": "16:9",
               "sceneType": ""} for i, d in enumerate(durations, start=1)]
    with db.write() as conn:
        job = job_store.create_job(conn, user_id=user_id, type="image_pairs",
                                   parameters={"aspectRatio": "16:9",
                                               "generateAudio": soundtrack}, now=now_iso())
        conn.execute("UPDATE jobs SET storyboard = ? WHERE id = ?",
                     (json.dumps({"scenes": scenes}), job.id))
    completed(db, job.id, "clip", durations, clip_ids)
    if soundtrack:
        plan = plan_segments(["p"] * len(durations), durations)
        music = []
        for i, segment in enumerate(plan):
            path = workdir / f"music{job.id}_{i}.wav"
            ffmpeg.run(bed_args(path, duration=float(requested_seconds(segment.duration)),
                                style=style_for(f"scene {i}")))
            music.append(store_file(db, path))
        completed(db, job.id, "music", [s.duration for s in plan], music)
    with db.read() as conn:
        return job_store.get_job(conn, job.id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ffmpeg = FFmpeg.locate()
    rows: dict[str, list[float]] = {}
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="actorvid-bench-finish-") as tmp:
        workdir = Path(tmp)
        settings = load_settings({"ACTORVID_DB": str(workdir / "bench.db"),
                                  "ACTORVID_DATA_DIR": str(workdir)}, dotenv=None)
        db = open_database(settings.db_path)
        with db.write() as conn:
            user = users.create_user(conn, username="bench", email="bench@example.com",
                                     password_hash="x", is_admin=False, now=now_iso())
        deps = PipelineDeps(db=db, settings=settings, accounts=cast(Any, None),
                            ingestor=cast(Any, None), selector=cast(Any, None),
                            local_selector=cast(Any, None), writer=cast(Any, None),
                            renderer_name="bench", music=None,
                            ffmpeg_locator=lambda: ffmpeg)
        pipeline = VideoPipeline(deps)
        clips = [veo_clip(ffmpeg, workdir / f"clip{i}.mp4", args.seconds, i)
                 for i in range(args.clips)]
        clip_ids = [store_file(db, clip) for clip in clips]
        durations = [args.seconds] * args.clips
        listing = workdir / "clips.txt"
        listing.write_text("".join(f"file '{c}'\n" for c in clips))
        for _ in range(args.runs):
            started = time.perf_counter()
            ffmpeg.run(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                        "-movflags", "+faststart", "-y", str(workdir / "floor.mp4")])
            rows.setdefault("floor: ffmpeg concat stream copy of the clips", []).append(
                time.perf_counter() - started)
            for soundtrack in (False, True):
                label = "with a local soundtrack" if soundtrack else "no soundtrack"
                job = new_job(db, user.id, durations, clip_ids, soundtrack=soundtrack,
                              workdir=workdir, ffmpeg=ffmpeg)
                with db.read() as conn:
                    subs = job_store.list_sub_jobs(conn, job.id)
                last = 0.0
                for sub in subs:
                    started = time.perf_counter()
                    made = pipeline.normalise(job, sub)
                    last = time.perf_counter() - started
                    rows.setdefault("normalise one clip (overlaps the renders)", []).append(last)
                    with db.write() as conn:
                        job_store.record_shot(conn, sub.id, clip_blob_id=made.clip_blob_id,
                                              shot_blob_id=made.shot_blob_id, now=now_iso())
                with db.read() as conn:
                    subs = job_store.list_sub_jobs(conn, job.id)
                started = time.perf_counter()
                video = pipeline.finish(job, subs)
                took = time.perf_counter() - started
                rows.setdefault(f"finish step, {label}", []).append(took)
                rows.setdefault(f"last clip stored → completed, {label}", []).append(
                    last + took)
                out = workdir / f"final{job.id}.mp4"
                with out.open("wb") as handle:
                    assert video.video_blob_id is not None
                    blobs.copy_blob_to_file(db, video.video_blob_id, handle)
                found = inspect.problems(ffmpeg, out, soundtrack=soundtrack)
                checks.append(f"{label}: {video.result['duration']} s, "
                              f"{found or 'passes'}")
        db.close()
    width = max(len(name) for name in rows)
    print(f"{args.clips} × {args.seconds:g} s 1280×720 clips, {args.runs} runs (median, min–max)")
    for name, values in rows.items():
        print(f"{name.ljust(width)}  {statistics.median(values):6.2f} s  "
              f"({min(values):.2f}–{max(values):.2f})")
    for line in dict.fromkeys(checks):
        print("output check:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
