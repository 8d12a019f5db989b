"""Recovery under fire: kill -9 the server at random moments of 20 jobs, restart, repeat.

    .venv/bin/python bench/recovery.py [--jobs 20] [--scenes 3] [--kills 8] [--seed 1]

Starts ``actorvid serve`` over a fresh database, pointed at a fake Replicate running in this
process (clips and MusicGen segments take about a second each), creates the jobs (half of them
with a soundtrack), then kills the server with SIGKILL at random moments — while jobs select,
render, make music and stitch — and starts it again, until every job has ended or the kills are
spent (then one last run to the end). It reports how many jobs completed (goal: all) and how
many predictions were created twice for the same sub-job (goal: 0), counted at the fake
Replicate, which is where the money would go. Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import collections
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs import campaign_with_images, server  # noqa: E402
from tests.fakes.replicate import FakeReplicate  # noqa: E402

TERMINAL = ("completed", "failed", "cancelled")


def read(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def stages(db: Path) -> collections.Counter[str]:
    return collections.Counter(stage for (stage,) in read(
        db, "SELECT stage FROM jobs WHERE status NOT IN ('completed','failed','cancelled')"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fake = FakeReplicate().start()
    for model in ("google/veo-3.1", "minimax/hailuo-02", "meta/musicgen"):
        fake.set_timing(model, queue=20, run=80)  # about a second each
    workdir = Path(tempfile.mkdtemp(prefix="actorvid-bench-recovery-"))
    db = workdir / "bench.db"
    started = time.monotonic()
    key = ""
    kills: list[collections.Counter[str]] = []
    job_ids: list[str] = []
    campaign = ""
    try:
        while True:
            with server(workdir, fake) as (proc, url, new_key, _lines):
                key = key or new_key
                session = requests.Session()
                session.headers["X-API-Key"] = key
                if not campaign:
                    campaign = campaign_with_images(session, url, count=2 * args.scenes)
                while len(job_ids) < args.jobs:
                    n = len(job_ids)
                    resp = session.post(url + "/api/v3/jobs/from-image-pairs", json={
                        "campaignId": campaign, "numPairs": args.scenes, "clipDuration": 4,
                        "autoApprove": True, "generateAudio": n % 2 == 0})
                    resp.raise_for_status()
                    job_ids.append(str(resp.json()["data"]["jobId"]))
                    if n == args.jobs // 3 and not kills:
                        break  # the first kill lands while jobs are still being created
                last = len(kills) >= args.kills
                deadline = time.monotonic() + (600 if last else rng.uniform(0.3, 4.0))
                while time.monotonic() < deadline:
                    if all(s in TERMINAL for (s,) in read(db, "SELECT status FROM jobs")) \
                            and len(job_ids) == args.jobs:
                        break
                    time.sleep(0.1)
                if not last:
                    kills.append(stages(db))
                    proc.kill()
                    proc.wait(timeout=30)
            if len(job_ids) < args.jobs:
                continue  # create the rest after the restart
            statuses = collections.Counter(s for (s,) in read(db, "SELECT status FROM jobs"))
            if sum(statuses[s] for s in TERMINAL) == args.jobs or len(kills) >= args.kills:
                if len(kills) >= args.kills and sum(statuses[s] for s in TERMINAL) < args.jobs:
                    continue  # the last run goes to the end
                break
    finally:
        fake.stop()
    statuses = collections.Counter(s for (s,) in read(db, "SELECT status FROM jobs"))
    per_sub: collections.Counter[str] = collections.Counter(
        p.tag.split("/")[1] for p in fake.all_predictions() if p.tag.count("/") >= 2)
    recreated = {sub for (sub,) in read(
        db, "SELECT id FROM sub_jobs WHERE recreated_from IS NOT NULL OR failures > 0")}
    twice = sum(n - 1 for sub, n in per_sub.items() if n > 1 and sub not in recreated)
    seen: collections.Counter[str] = collections.Counter()
    for moment in kills:
        seen.update(moment.keys())
    print(f"{'jobs':<34}{args.jobs} × {args.scenes} scenes, half with a soundtrack")
    print(f"{'kill -9':<34}{len(kills)} (stages live at the kills: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(seen.items()))})")
    print(f"{'completed':<34}{statuses['completed']} / {args.jobs} (goal: all)")
    print(f"{'failed / cancelled':<34}{statuses['failed']} / {statuses['cancelled']}")
    print(f"{'predictions created':<34}{sum(per_sub.values())} for {len(per_sub)} sub-jobs")
    print(f"{'created twice for one sub-job':<34}{twice} (goal: 0)")
    print(f"{'wall time':<34}{time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
