"""Benchmarks of the job engine against the fake Replicate (over real HTTP on loopback).

    .venv/bin/python bench/jobs.py fanout [--scenes 10] [--seconds 3]
    .venv/bin/python bench/jobs.py load   [--jobs 100] [--scenes 10] [--seconds 1]
    .venv/bin/python bench/jobs.py poll   [--clients 16] [--duration 10]

Each starts ``actorvid serve`` in a subprocess over a fresh database, pointed at a fake
Replicate running in this process, prints a table, and exits non-zero only when it cannot run.

- fanout: one job of N scenes, each prediction taking T seconds: render wall time / T
  (close to 1 when the scenes run in parallel; N when they run one after another).
- load: J concurrent jobs × N scenes (``--conforming``: the fake's clips already in the
  output format, so each shot is a remux): all complete? ``database is locked`` count, the
  server's peak RSS and thread count, the peak summed RSS of its ffmpeg children, how long
  the last job completed after the last prediction, the CPU seconds of the server, of its
  ffmpeg children and of this process (the fake), and a timeline of each scene's and job's
  phases (from the fake's journal and the rows' stamps).
- poll: ``GET /api/v3/jobs/{id}`` requests per second and p50/p99 latency with C concurrent
  clients while jobs are rendering.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.replicate import FakeReplicate  # noqa: E402

COLORS = ("red", "green", "blue", "orange", "purple", "yellow")


def proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of ``pid`` itself, and of its children it has waited for
    (ffmpeg runs end before their step does, so these are the media work's CPU)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / tick, (cutime + cstime) / tick


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's ``children`` list: ffmpeg is started from
    pool threads)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(c) for c in handle.read().split()]
        except OSError:
            continue
    return found


class Sampler(threading.Thread):
    """Peak RSS and thread count of a process, and the peak summed RSS and count of its child
    processes (ffmpeg), sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.exe = os.readlink(f"/proc/{pid}/exe")
        self.peak_rss_kib = 0
        self.peak_threads = 0
        self.peak_children_rss_kib = 0
        self.peak_children = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(0.05):
            try:
                status = proc_status(self.pid)
            except OSError:
                return
            self.peak_rss_kib = max(self.peak_rss_kib, status.get("VmRSS", 0))
            self.peak_threads = max(self.peak_threads, status.get("Threads", 0))
            children = 0
            rss = 0
            for child in children_of(self.pid):
                try:
                    # A child forked but not yet exec'ed is still a copy of the server (its
                    # RSS is the server's pages, shared): count ffmpeg only.
                    if os.readlink(f"/proc/{child}/exe") == self.exe:
                        continue
                    rss += proc_status(child).get("VmRSS", 0)
                    children += 1
                except OSError:
                    continue
            self.peak_children_rss_kib = max(self.peak_children_rss_kib, rss)
            self.peak_children = max(self.peak_children, children)


@contextmanager
def server(workdir: Path, fake: FakeReplicate, *, threads: int = 16, **env_extra: str
           ) -> Iterator[tuple[subprocess.Popen[str], str, str, list[str]]]:
    env = {**os.environ, "ACTORVID_DB": str(workdir / "bench.db"),
           "ACTORVID_DATA_DIR": str(workdir), "REPLICATE_API_KEY": fake.token,
           "ACTORVID_REPLICATE_BASE_URL": fake.api_url, "ACTORVID_POLL_FIRST_SECONDS": "0.2",
           "ACTORVID_POLL_MAX_SECONDS": "1.0", "ACTORVID_LOG_LEVEL": "warning", **env_extra}
    for name in ("XAI_API_KEY", "OPENAI_API_KEY"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "actorvid", "--log-level", "info", "serve",
                             "--port", "0", "--threads", str(threads)], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env, cwd=workdir)
    assert proc.stderr is not None
    lines: list[str] = []
    port = key = ""
    while not port:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("the server did not start:\n" + "".join(lines[-20:]))
        lines.append(line)
        found = re.search(r"API key (sk_\S+)", line)
        key = found.group(1) if found else key
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        port = found.group(1) if found else ""
    # Keep reading the log so the pipe never fills, and keep it for the "locked" count.
    stderr = proc.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(stderr), daemon=True)
    reader.start()
    try:
        yield proc, f"http://127.0.0.1:{port}", key, lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def png(color: str) -> bytes:
    from actorvid.media.ffmpeg import FFmpeg

    ffmpeg = FFmpeg.locate()
    return subprocess.run([ffmpeg.binary, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                           "-i", f"color=c={color}:s=320x240", "-frames:v", "1", "-f", "image2",
                           "-c:v", "png", "-"], capture_output=True, check=True).stdout


def campaign_with_images(session: requests.Session, url: str, count: int = 4) -> str:
    client = session.post(url + "/api/v3/clients", json={"name": "Bench"}).json()["data"]
    campaign = session.post(url + "/api/v3/campaigns", json={
        "clientId": client["id"], "name": "Bench", "goal": "speed"}).json()["data"]
    for i in range(count):
        color = COLORS[i % len(COLORS)]
        resp = session.post(url + "/api/v3/assets",
                            files={"file": (f"{color}.png", png(color), "image/png")},
                            data={"campaignId": campaign["id"], "type": "image"})
        resp.raise_for_status()
    return str(campaign["id"])


def start_job(session: requests.Session, url: str, campaign_id: str, scenes: int) -> str:
    resp = session.post(url + "/api/v3/jobs/from-image-pairs", json={
        # allowReuse: the campaign has 4 images; without reuse a job gets only the 2 scenes
        # they make (the request's shortfall rule), not the N the table reports.
        "campaignId": campaign_id, "numPairs": scenes, "clipDuration": 4, "autoApprove": True,
        "allowReuse": True})
    resp.raise_for_status()
    return str(resp.json()["data"]["jobId"])


def wait_jobs(session: requests.Session, url: str, job_ids: list[str], timeout: float
              ) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    tags: dict[str, str] = {}
    while time.monotonic() < deadline:
        for job_id in job_ids:
            if status.get(job_id) in ("completed", "failed", "cancelled"):
                continue
            # A conditional poll, as a client that keeps the ETag polls: 304 while the job
            # has not moved (the server reads its stamp, builds nothing).
            headers = {"If-None-Match": tags[job_id]} if job_id in tags else {}
            resp = session.get(f"{url}/api/v3/jobs/{job_id}", headers=headers)
            if resp.status_code == 304:
                continue
            tags[job_id] = resp.headers.get("ETag", "")
            status[job_id] = resp.json()["data"]["status"]
        if all(s in ("completed", "failed", "cancelled") for s in status.values()) and \
                len(status) == len(job_ids):
            return status
        time.sleep(0.5)
    return status


def fake_with(seconds: float, workdir: Path, *, conforming: bool = False) -> FakeReplicate:
    fake = FakeReplicate(workdir=workdir).start()
    fake.conforming_clips = conforming
    simulated = seconds / fake.time_scale
    fake.set_timing("google/veo-3.1", queue=0, run=simulated)
    fake.set_rate_limit("create", per_minute=60_000, burst=1_000)
    fake.set_rate_limit("other", per_minute=600_000, burst=10_000)
    return fake


def _at(iso: str | None) -> float | None:
    from actorvid.clock import parse_iso

    return parse_iso(iso).timestamp() if iso else None


def _spread(values: list[float]) -> str:
    """median, p90 and max of ``values`` (seconds)."""
    if not values:
        return "—"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{statistics.median(ordered):.2f} / {p90:.2f} / {ordered[-1]:.2f}"


def timeline(db_path: Path, fake: FakeReplicate, started_wall: float
             ) -> list[tuple[str, Any]]:
    """Where each scene's and job's time went, from the fake's journal (prediction created,
    done, its download asked for) and the rows' stamps (clip stored, shot stored, job
    completed), in seconds after the first POST: the medians, p90s and maxima of each phase,
    and when the last of each event happened."""
    mono_to_wall = time.time() - time.monotonic()
    preds = {p.id: p for p in fake.all_predictions()}
    asked: dict[str, float] = {}
    for entry in fake.journal.requests("download"):
        pred_id = entry["path"].split("/")[2]
        asked.setdefault(pred_id, entry["time"] + mono_to_wall)
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    subs = conn.execute("SELECT job_id, provider_id, completed_at, updated_at FROM sub_jobs "
                        "WHERE kind = 'clip' AND status = 'completed'").fetchall()
    jobs_rows = conn.execute("SELECT id, created_at, completed_at FROM jobs").fetchall()
    conn.close()
    phases: dict[str, list[float]] = {k: [] for k in (
        "create", "done", "noticed", "stored", "shot")}
    last_shot: dict[int, float] = {}
    for sub in subs:
        pred = preds.get(sub["provider_id"])
        if pred is None or pred.completed is None:
            continue
        created = pred.created + mono_to_wall
        done = pred.completed + mono_to_wall
        noticed = asked.get(pred.id, done)
        stored = _at(sub["completed_at"]) or noticed
        shot = _at(sub["updated_at"]) or stored
        phases["create"].append(created - started_wall)
        phases["done"].append(done - created)
        phases["noticed"].append(noticed - done)
        phases["stored"].append(stored - noticed)
        phases["shot"].append(shot - stored)
        last_shot[sub["job_id"]] = max(last_shot.get(sub["job_id"], 0.0), shot)
    finish = [(_at(j["completed_at"]) or 0.0) - last_shot[j["id"]] for j in jobs_rows
              if j["completed_at"] and j["id"] in last_shot]
    stamps = {
        "created": [p.created + mono_to_wall for p in preds.values()],
        "done": [p.completed + mono_to_wall for p in preds.values() if p.completed],
        "noticed": list(asked.values()),
        "stored": [_at(s["completed_at"]) or 0.0 for s in subs],
        "shot": list(last_shot.values()),
        "completed": [_at(j["completed_at"]) or 0.0 for j in jobs_rows]}
    ends = {name: max(values, default=started_wall) for name, values in stamps.items()}
    return [
        ("scene phases (s): median / p90 / max", ""),
        ("  POST of the first job → prediction created", _spread(phases["create"])),
        ("  created → done at the fake", _spread(phases["done"])),
        ("  done → its download asked for (poll delay)", _spread(phases["noticed"])),
        ("  download asked → clip stored", _spread(phases["stored"])),
        ("  clip stored → shot stored (queue + remux)", _spread(phases["shot"])),
        ("  job: last shot stored → completed (queue + finish)", _spread(finish)),
        ("last of each event (s after the first POST)", ", ".join(
            f"{name} {at - started_wall:.1f}" for name, at in ends.items())),
    ]


def table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def bench_fanout(args: argparse.Namespace, workdir: Path) -> None:
    fake = fake_with(args.seconds, workdir)
    try:
        with server(workdir, fake) as (_, url, key, _lines):
            session = requests.Session()
            session.headers["X-API-Key"] = key
            campaign = campaign_with_images(session, url)
            started = time.monotonic()
            job_id = start_job(session, url, campaign, args.scenes)
            status = wait_jobs(session, url, [job_id], timeout=600)
            total = time.monotonic() - started
            preds = [p for p in fake.all_predictions() if p.tag.startswith(f"job{job_id}/")]
            render = max(p.completed or 0 for p in preds) - min(p.created for p in preds)
            table([("scenes", args.scenes), ("prediction time T (s)", args.seconds),
                   ("job status", status.get(job_id)),
                   ("predictions created", len(preds)),
                   ("max in flight", fake.journal.max_in_flight(f"job{job_id}/")),
                   ("render wall (first create → last done) (s)", f"{render:.2f}"),
                   ("render wall / T", f"{render / args.seconds:.2f}"),
                   ("sequential would be / T", args.scenes),
                   ("whole job incl. storyboard and stitch (s)", f"{total:.2f}")])
    finally:
        fake.stop()


def bench_load(args: argparse.Namespace, workdir: Path) -> None:
    fake = fake_with(args.seconds, workdir, conforming=args.conforming)
    try:
        with server(workdir, fake, ACTORVID_REPLICATE_CREATES_PER_MINUTE="60000") as (
                proc, url, key, lines):
            sampler = Sampler(proc.pid)
            sampler.start()
            session = requests.Session()
            session.headers["X-API-Key"] = key
            campaign = campaign_with_images(session, url)
            baseline = proc_status(proc.pid)
            cpu_before = cpu_seconds(proc.pid)
            own_before = time.process_time()
            load_start = os.getloadavg()[0]
            started_wall = time.time()
            started = time.monotonic()
            job_ids = [start_job(session, url, campaign, args.scenes) for _ in range(args.jobs)]
            status = wait_jobs(session, url, job_ids, timeout=args.timeout)
            wall = time.monotonic() - started
            done_at = time.monotonic()
            cpu_after = cpu_seconds(proc.pid)
            own = time.process_time() - own_before
            last_prediction = max((p.completed or 0.0 for p in fake.all_predictions()),
                                  default=done_at)
            after_predictions = done_at - last_prediction
            sampler.stop_event.set()
            sampler.join()
            completed = sum(1 for s in status.values() if s == "completed")
            locked = sum(1 for line in lines if "database is locked" in line)
            table([("jobs × scenes", f"{args.jobs} × {args.scenes}"),
                   ("clips served", "1280×720 30 fps, in the output format (remuxed)"
                    if args.conforming else "128×72 12 fps (each normalised: an encode)"),
                   ("1-min load average at the start, at the end",
                    f"{load_start:.1f}, {os.getloadavg()[0]:.1f}"),
                   ("prediction time T (s)", args.seconds),
                   ("completed", f"{completed} / {args.jobs}"),
                   ("predictions created", fake.journal.creates),
                   ("'database is locked' in the log", locked),
                   ("wall time (s)", f"{wall:.1f}"),
                   ("server RSS before (MiB)", f"{baseline['VmRSS'] / 1024:.1f}"),
                   ("server peak RSS (MiB)", f"{sampler.peak_rss_kib / 1024:.1f}"),
                   ("ffmpeg children: peak summed RSS (MiB)",
                    f"{sampler.peak_children_rss_kib / 1024:.1f}"),
                   ("ffmpeg children: peak count", sampler.peak_children),
                   ("all predictions done → last job completed (s)",
                    f"{after_predictions:.1f}"),
                   ("server threads before", baseline["Threads"]),
                   ("server peak threads", sampler.peak_threads),
                   ("server CPU: its own, its ffmpeg children's (s)",
                    f"{cpu_after[0] - cpu_before[0]:.1f}, {cpu_after[1] - cpu_before[1]:.1f}"),
                   ("their share of the wall time × 2 cores",
                    f"{(sum(cpu_after) - sum(cpu_before)) / (2 * wall):.0%}"),
                   ("this process's CPU: the fake Replicate and the polls (s)", f"{own:.1f}"),
                   *timeline(workdir / "bench.db", fake, started_wall)])
    finally:
        fake.stop()


def measure_polls(key: str, targets: list[str], *, clients: int, duration: float,
                  timeout: float = 30.0) -> tuple[list[float], int]:
    """``clients`` threads GET the ``targets`` (round robin) for ``duration`` seconds; returns
    the sorted latencies of the 200s and how many requests failed or timed out."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client(n: int) -> None:
        own = requests.Session()
        own.headers["X-API-Key"] = key
        target = targets[n % len(targets)]
        mine, failed = [], 0
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                ok = own.get(target, timeout=timeout).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                mine.append(time.perf_counter() - t0)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies), errors[0]


def poll_rows(latencies: list[float], errors: int, duration: float) -> list[tuple[str, Any]]:
    if not latencies:
        return [("requests", 0), ("errors / timeouts", errors)]
    return [("requests", len(latencies)), ("errors / timeouts", errors),
            ("requests / s", f"{len(latencies) / duration:.0f}"),
            ("p50 (ms)", f"{statistics.median(latencies) * 1000:.1f}"),
            ("p99 (ms)", f"{latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000:.1f}")]


def bench_poll(args: argparse.Namespace, workdir: Path) -> None:
    fake = fake_with(30.0, workdir)  # jobs stay rendering for the whole measurement
    try:
        with server(workdir, fake) as (_, url, key, _lines):
            session = requests.Session()
            session.headers["X-API-Key"] = key
            campaign = campaign_with_images(session, url)
            job_ids = [start_job(session, url, campaign, 5) for _ in range(4)]
            latencies, errors = measure_polls(
                key, [f"{url}/api/v3/jobs/{job_id}" for job_id in job_ids],
                clients=args.clients, duration=args.duration)
            table([("clients", args.clients), ("duration (s)", args.duration),
                   *poll_rows(latencies, errors, args.duration)])
    finally:
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="which", required=True)
    fanout = sub.add_parser("fanout")
    fanout.add_argument("--scenes", type=int, default=10)
    fanout.add_argument("--seconds", type=float, default=3.0)
    load = sub.add_parser("load")
    load.add_argument("--jobs", type=int, default=100)
    load.add_argument("--scenes", type=int, default=10)
    load.add_argument("--seconds", type=float, default=1.0)
    load.add_argument("--timeout", type=float, default=1800.0)
    load.add_argument("--conforming", action="store_true",
                      help="the fake serves 1280×720 30 fps clips already in the output format "
                           "(a well-behaved model's), remuxed instead of normalised")
    poll = sub.add_parser("poll")
    poll.add_argument("--clients", type=int, default=16)
    poll.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="actorvid-bench-") as tmp:
        {"fanout": bench_fanout, "load": bench_load, "poll": bench_poll}[args.which](
            args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
