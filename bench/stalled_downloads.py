"""Job polls while downloads stall: ``GET /api/v3/jobs/{id}`` req/s with and without them.

    .venv/bin/python bench/stalled_downloads.py [--stalled 16] [--clients 16] [--duration 10]
                                                [--unguarded]

Starts ``actorvid serve`` (8 threads, its defaults) over a fresh database, uploads an 8 MiB
asset and creates a job, then measures the job poll with C concurrent clients twice: alone,
and while S sockets hold ``GET /api/v3/assets/{id}/data`` open without reading (4 KiB receive
buffer). The send deadline is set past the run so the stalls last the whole measurement.
``--unguarded`` raises the stream slots to S, which is how the server behaved before them.
Prints a table; exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs import (  # noqa: E402
    campaign_with_images,
    fake_with,
    measure_polls,
    poll_rows,
    server,
    table,
)

ASSET_BYTES = 8 * 1024 * 1024


def stall(url: str, key: str, asset_id: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET /api/v3/assets/{asset_id}/data HTTP/1.1\r\nHost: {host}\r\n"
                 f"X-API-Key: {key}\r\n\r\n".encode())
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stalled", type=int, default=16)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--unguarded", action="store_true")
    args = parser.parse_args()
    env = {"ACTORVID_SEND_TIMEOUT_SECONDS": str(args.duration * 3 + 60)}
    if args.unguarded:
        env.update(ACTORVID_MAX_STREAMS=str(args.stalled),
                   ACTORVID_MAX_STREAMS_PER_USER=str(args.stalled))
    with tempfile.TemporaryDirectory(prefix="actorvid-bench-") as tmp:
        workdir = Path(tmp)
        fake = fake_with(30.0, workdir)  # no job renders; the fake only satisfies the wiring
        try:
            with server(workdir, fake, threads=8, **env) as (_, url, key, _lines):
                session = requests.Session()
                session.headers["X-API-Key"] = key
                campaign = campaign_with_images(session, url, count=2)
                job = session.post(url + "/api/v3/jobs/from-image-pairs", json={
                    "campaignId": campaign, "numPairs": 1, "clipDuration": 4})
                job.raise_for_status()
                target = [f"{url}/api/v3/jobs/{job.json()['data']['jobId']}"]
                asset = session.post(url + "/api/v3/assets", data={
                    "campaignId": campaign, "type": "document"}, files={"file": (
                        "big.pdf", b"%PDF-1.4\n" + os.urandom(ASSET_BYTES), "application/pdf")})
                asset.raise_for_status()

                alone = measure_polls(key, target, clients=args.clients,
                                      duration=args.duration, timeout=5)
                sockets = [stall(url, key, asset.json()["data"]["id"])
                           for _ in range(args.stalled)]
                time.sleep(1.0)  # let every stalled response fill its buffers
                stalled = measure_polls(key, target, clients=args.clients,
                                        duration=args.duration, timeout=5)
                statuses = []
                for sock in sockets:
                    sock.settimeout(5)
                    statuses.append(sock.recv(12).decode(errors="replace")[9:12])
                    sock.close()
        finally:
            fake.stop()
    rows = [("server threads", 8), ("poll clients", args.clients),
            ("duration (s)", args.duration),
            ("stream slots", "unguarded" if args.unguarded else "defaults (4, 2 per user)")]
    rows += [(f"alone: {name}", value) for name, value in poll_rows(*alone, args.duration)]
    rows += [(f"{args.stalled} stalled: {name}", value)
             for name, value in poll_rows(*stalled, args.duration)]
    rows.append(("stalled downloads answered", ", ".join(
        f"{statuses.count(code)} × {code}" for code in sorted(set(statuses)))))
    if alone[0] and stalled[0]:
        rows.append(("req/s stalled / alone", f"{len(stalled[0]) / len(alone[0]):.2f}"))
    table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
