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
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actorvid.clock import now_iso  # noqa: E402
from actorvid.config import load_settings  # noqa: E402
from actorvid.domain.scenes import PlannedScene  # noqa: E402
from actorvid.media import inspect  # noqa: E402
from actorvid.media.audio import bed_args, style_for  # noqa: E402
from actorvid.media.ffmpeg import FFmpeg, MediaInfo  # noqa: E402
from actorvid.media.output import (  # noqa: E402
    FPS,
    SAMPLES_PER_FRAME,
    TV_BT709,
    audio_encoder_args,
    output_args,
    shot_encoder_args,
)
from actorvid.pipelines.common import VideoPipeline  # noqa: E402
from actorvid.pipelines.deps import PipelineDeps  # noqa: E402
from actorvid.pipelines.soundtrack import plan_segments, requested_seconds  # noqa: E402
from actorvid.store import blobs, users  # noqa: E402
from actorvid.store import jobs as job_store  # noqa: E402
from actorvid.store.db import Database, open_database  # noqa: E402


def clip_sound(seconds: float, index: int, sound: str) -> str:
    """The clip's sound as a lavfi source: ``noisy`` (default) a tone under pink noise, a
    different tone and noise seed per clip — noise-like, as model clips' ambience, speech and
    music are; ``sine`` a pure tone, the AAC ``fast`` coder's worst case (3.2 s for 56 s of
    stereo against 0.5 s for the noisy mix, measured by the lead on a quiet machine)."""
    tone = f"sine=frequency={300 + 50 * index}:sample_rate=48000:duration={seconds}"
    if sound == "silent":  # as the local renderer's and Hailuo's clips (no sound to mix)
        return f"anullsrc=r=48000:cl=stereo,atrim=duration={seconds}"
    if sound == "sine":
        return tone
    noise = (f"anoisesrc=color=pink:amplitude=0.25:seed={index + 1}:sample_rate=48000"
             f":duration={seconds}")
    return (f"{tone}[t];{noise}[n];[t][n]amix=inputs=2:normalize=0,"
            f"pan=stereo|c0=c0|c1=c0")


def veo_clip(ffmpeg: FFmpeg, path: Path, seconds: float, index: int, sound: str, *,
             conforming: bool = False) -> Path:
    """A Veo-like clip (24 fps, B-frames: normalising it is an encode), or with
    ``conforming`` one already in the output format (what the local renderer makes, and a
    model delivering 30 fps H.264 of our shape would: normalising it is a copy)."""
    if conforming:
        frames = round(seconds * FPS)
        ffmpeg.run(["-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate={FPS}:duration={seconds},{TV_BT709}",
                    "-filter_complex", f"{clip_sound(seconds, index, sound)},"
                    f"atrim=end_sample={frames * SAMPLES_PER_FRAME}[a]",
                    "-map", "0:v", "-map", "[a]", *shot_encoder_args(), *audio_encoder_args(),
                    "-frames:v", str(frames), *output_args(path)])
        return path
    ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=24:duration={seconds}",
                "-filter_complex", f"{clip_sound(seconds, index, sound)}[a]",
                "-map", "0:v", "-map", "[a]",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-ar", "48000", "-ac", "2", "-y", str(path)])
    return path


class TimedFFmpeg(FFmpeg):
    """The process's ffmpeg, recording how long each call took (what it wrote, seconds)."""

    calls: list[tuple[str, float]] = []

    def run(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        started = time.perf_counter()
        try:
            return super().run(args, **kwargs)
        finally:
            self.calls.append((_what(args), time.perf_counter() - started))

    def probe(self, path: Path | str, **kwargs: Any) -> MediaInfo:
        started = time.perf_counter()
        try:
            return super().probe(path, **kwargs)
        finally:
            self.calls.append((f"probe {Path(path).name}", time.perf_counter() - started))


def _what(args: Sequence[str]) -> str:
    """A short name for one ffmpeg call: its output file's name and its inputs' kinds."""
    out = Path(args[-1]).name if args and args[-1] not in ("-", "pipe:1") else "(null)"
    inputs = [Path(args[i + 1]).suffix or args[i + 1] for i in range(len(args) - 1)
              if args[i] == "-i"]
    return f"{out} <- {' '.join(inputs)}"


def children_cpu() -> float:
    """CPU seconds (user + sys) of this process's finished children so far (ffmpeg)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def store_file(db: Database, path: Path) -> str:
    with path.open("rb") as handle:
        return blobs.write_blob_from_file(db, handle).id


def completed(db: Database, job_id: int, kind: str, durations: list[float],
              blob_ids: list[str]) -> None:
    with db.write() as conn:
        job_store.insert_sub_jobs(conn, job_id, [
            job_store.NewSubJob(f"{kind}-{job_id}-{i}", PlannedScene(
                i, "p", d, "veo3", input={"resolution": "720p", "aspectRatio": "16:9"}),
                kind=kind)
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
    parser.add_argument("--sound", choices=("noisy", "sine", "silent"), default="noisy",
                        help="the clips' sound: a tone under pink noise (default), a pure tone "
                             "(the AAC coder's worst case; the figures before Dec 2) or "
                             "digital silence (the soundtrack is then the music alone)")
    parser.add_argument("--normalise-twice", action="store_true",
                        help="normalise the clips again for the soundtrack's job (by default "
                             "it reuses the first job's shots: same clips, same shots)")
    parser.add_argument("--conforming", action="store_true",
                        help="clips already in the output format (30 fps, the shots' H.264 and "
                             "AAC), as the local renderer makes them: normalising is a copy")
    parser.add_argument("--calls", action="store_true",
                        help="also print every ffmpeg call of the finish steps, timed")
    args = parser.parse_args()
    ffmpeg = TimedFFmpeg(FFmpeg.locate().binary)
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
        clips = [veo_clip(ffmpeg, workdir / f"clip{i}.mp4", args.seconds, i, args.sound,
                          conforming=args.conforming)
                 for i in range(args.clips)]
        clip_ids = [store_file(db, clip) for clip in clips]
        durations = [args.seconds] * args.clips
        listing = workdir / "clips.txt"
        listing.write_text("".join(f"file '{c}'\n" for c in clips))
        loads = [os.getloadavg()[0]]
        for _ in range(args.runs):
            shot_ids: list[str] = []
            last = 0.0
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
                for index, sub in enumerate(subs):
                    if soundtrack and not args.normalise_twice:
                        # The same clips make the same shots: store the first job's again.
                        with db.write() as conn:
                            job_store.record_shot(conn, sub.id, clip_blob_id=clip_ids[index],
                                                  shot_blob_id=shot_ids[index], now=now_iso())
                        continue
                    started = time.perf_counter()
                    made = pipeline.normalise(job, sub)
                    last = time.perf_counter() - started
                    rows.setdefault("normalise one clip (overlaps the renders)", []).append(last)
                    shot_ids.append(made.shot_blob_id)
                    with db.write() as conn:
                        job_store.record_shot(conn, sub.id, clip_blob_id=made.clip_blob_id,
                                              shot_blob_id=made.shot_blob_id, now=now_iso())
                with db.read() as conn:
                    subs = job_store.list_sub_jobs(conn, job.id)
                TimedFFmpeg.calls.clear()
                cpu = children_cpu()
                started = time.perf_counter()
                video = pipeline.finish(job, subs)
                took = time.perf_counter() - started
                cpu = children_cpu() - cpu
                rows.setdefault(f"finish step, {label}", []).append(took)
                rows.setdefault(f"  its ffmpeg children's CPU (user+sys), {label}", []).append(
                    cpu)
                if args.calls:
                    print(f"finish, {label}: {took:.2f} s wall, {cpu:.2f} s ffmpeg CPU; "
                          "the ffmpeg calls (wall):")
                    for what, seconds in TimedFFmpeg.calls:
                        print(f"  {seconds:6.2f} s  {what}")
                rows.setdefault(f"last clip stored → completed, {label}", []).append(
                    last + took)
                out = workdir / f"final{job.id}.mp4"
                with out.open("wb") as handle:
                    assert video.video_blob_id is not None
                    blobs.copy_blob_to_file(db, video.video_blob_id, handle)
                found = inspect.problems(ffmpeg, out, soundtrack=soundtrack)
                checks.append(f"{label}: {video.result['duration']} s, "
                              f"{found or 'passes'}")
            loads.append(os.getloadavg()[0])
        db.close()
    width = max(len(name) for name in rows)
    kind = "conforming 30 fps" if args.conforming else "Veo-like 24 fps"
    print(f"{args.clips} × {args.seconds:g} s 1280×720 {kind} clips, {args.sound} sound, "
          f"{args.runs} runs (median, min–max); 1-min load average at the start and "
          f"after each run: {', '.join(f'{x:.1f}' for x in loads)}")
    for name, values in rows.items():
        print(f"{name.ljust(width)}  {statistics.median(values):6.2f} s  "
              f"({min(values):.2f}–{max(values):.2f})")
    for line in dict.fromkeys(checks):
        print("output check:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
