"""Requests per second of the JSON API next to the framework's ceiling, measured in one run.

    .venv/bin/python bench/api.py [--duration 10] [--rounds 3] [--threads 16]
    .venv/bin/python bench/api.py bare --port 0 --threads 16   # the floor on its own
    .venv/bin/python bench/api.py inprocess [--calls 10000]     # CPU per request, no waitress

Starts ``actorvid serve`` over a fresh database (a fake Replicate with 1 s predictions renders
one 7-scene job), adds 20 clients, then runs ``wrk -t2 -c16 --latency`` (``apt-get install
wrk``) against, in turn: a bare Falcon app under waitress answering a 20-item JSON list (the
floor: same server, same thread count, no database), ``GET /api/v3/clients``, ``GET
/api/v3/jobs/{id}``, and both again with ``If-None-Match`` (304 hits). Each round runs every
target once, alternating, and the table shows the median of the rounds with each figure's
ratio to the floor of the same run, p99 latency, and how many "Task queue depth" warnings
the server logged. The floor runs under ``actorvid.serving.make_server``, as ``actorvid
serve`` does; the same bare app under waitress's stock channel is measured beside it, to show
what the channel's fix (``serving._Channel``: no busy loop while a task sends) is worth.

``inprocess`` calls the WSGI apps directly (no waitress, no sockets) and prints the CPU time
per request (the best of 10 interleaved rounds): a figure the load of a shared machine
disturbs far less than ``wrk``'s.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs import campaign_with_images, fake_with, server, start_job, table  # noqa: E402

ITEM = {"id": "3f2b6c1e-8a55-4d57-9a8e-0d9f1c2b7a10", "name": "Client 00",
        "description": "A client of the benchmark " * 3, "homepage": "https://example.com/",
        "brandGuidelines": None, "metadata": {"tier": "gold"},
        "createdAt": "2026-12-01T00:00:00.000Z", "updatedAt": "2026-12-01T00:00:00.000Z"}


def bare_app() -> Any:
    """The floor: Falcon answering a 20-item list from memory, and discarding upload bodies."""
    import falcon

    class Items:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {"data": [ITEM] * 20, "error": None, "meta": {"total": 20}}

    class Sink:
        def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
            while req.bounded_stream.read(1024 * 1024):
                pass
            resp.media = {"data": None}

    app = falcon.App()
    app.add_route("/items", Items())
    app.add_route("/upload", Sink())
    return app


def serve_bare(port: int, threads: int, stock: bool = False) -> None:
    from waitress.server import create_server

    from actorvid.serving import make_server

    # The same waitress settings as ``actorvid serve``: only the app differs. ``stock`` is
    # waitress as it comes (its channel spins while a task sends, and it reads sockets 8 KiB
    # at a time; actorvid/serving.py), to show what actorvid's settings are worth.
    build = create_server if stock else make_server
    srv = build(bare_app(), host="127.0.0.1", port=port, threads=threads,
                max_request_body_size=1 << 30)
    print(f"listening on http://127.0.0.1:{srv.effective_port}", file=sys.stderr, flush=True)
    srv.run()


@contextmanager
def bare_server(threads: int, stock: bool = False) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, __file__, "bare", "--port", "0", "--threads",
                             str(threads)] + (["--stock"] if stock else []),
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    found = re.search(r"listening on (http://\S+)", line)
    if not found:
        proc.kill()
        raise SystemExit("the bare server did not start: " + line)
    threading.Thread(target=lambda: proc.stderr.read(), daemon=True).start()  # type: ignore
    try:
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wrk(url: str, duration: int, headers: dict[str, str]) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of ``wrk -t2 -c16``."""
    cmd = ["wrk", "-t2", "-c16", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error answers\n{out}")
    return rps, float(p99.group(1)) * scale


def prepare(url: str, key: str) -> tuple[str, str, str]:
    """20 clients and one finished 7-scene job; returns the job id and both ETags."""
    session = requests.Session()
    session.headers["X-API-Key"] = key
    campaign_id = campaign_with_images(session, url, count=8)
    for i in range(19):
        session.post(url + "/api/v3/clients", json={
            "name": f"Client {i:02d}", "description": "A client of the benchmark " * 3,
            "homepage": "https://example.com/", "metadata": {"tier": "gold"}}).raise_for_status()
    job_id = start_job(session, url, campaign_id, 7)
    from bench.jobs import wait_jobs

    status = wait_jobs(session, url, [job_id], timeout=600)
    if status.get(job_id) != "completed":
        raise SystemExit(f"the job did not complete: {status}")
    clients = session.get(url + "/api/v3/clients")
    job = session.get(f"{url}/api/v3/jobs/{job_id}")
    assert len(clients.json()["data"]) == 20
    print(f"GET /clients body {len(clients.content)} B, GET /jobs/{{id}} body "
          f"{len(job.content)} B", flush=True)
    return job_id, clients.headers["ETag"], job.headers["ETag"]


def in_process(calls: int) -> None:
    """CPU time per request of the same targets, called straight into the WSGI apps."""
    import time

    import falcon.testing

    from actorvid.app import build_app, create_context
    from actorvid.config import load_settings
    from actorvid.domain.scenes import PlannedScene
    from actorvid.store import job_transitions
    from actorvid.store import jobs as job_store
    from actorvid.store.jobs import NewSubJob

    with tempfile.TemporaryDirectory(prefix="actorvid-bench-api-") as tmp:
        settings = load_settings({"ACTORVID_DB": f"{tmp}/bench.db", "ACTORVID_DATA_DIR": tmp,
                                  "ACTORVID_PROVIDER": "local", "ACTORVID_PREVIEWS": "off"},
                                 dotenv=None)
        ctx = create_context(settings, bootstrap=False)
        try:
            user = ctx.accounts.create_user("bench", "bench@example.com", "bench-password-1")
            auth = {"X-API-Key": ctx.accounts.create_api_key(user.id, "bench").key}
            app = build_app(ctx)
            client = falcon.testing.TestClient(app)
            for i in range(20):
                client.simulate_post("/api/v3/clients", headers=auth, json={
                    "name": f"Client {i:02d}", "description": "A client of the benchmark " * 3,
                    "homepage": "https://example.com/", "metadata": {"tier": "gold"}})
            # A 7-scene job rendering, written as the engine writes it (no actors needed).
            with ctx.db.write() as conn:
                job = job_store.create_job(conn, user_id=user.id, type="image_pairs",
                                           parameters={}, now=ctx.now())
                job_transitions.set_job_stage(conn, job.id, expected_status="pending",
                                              status="storyboard_processing",
                                              stage="storyboard", now=ctx.now())
                job_transitions.save_storyboard(conn, job.id, storyboard={"scenes": [
                    {"id": f"s{n}", "sceneNumber": n, "duration": 8.0,
                     "description": "A scene of the benchmark " * 12,
                     "prompt": "The camera moves slowly " * 16} for n in range(1, 8)]},
                    estimated_cost=1.0, now=ctx.now())
                job_transitions.approve_job(conn, job.id, now=ctx.now())
                job_store.insert_sub_jobs(conn, job.id, [NewSubJob(
                    id=f"sub{n}", scene=PlannedScene(
                        scene_number=n, prompt="The camera moves slowly " * 16, duration=8.0,
                        model="bench")) for n in range(1, 8)], now=ctx.now())
            paths = {"GET /clients (20)": "/api/v3/clients",
                     "GET /jobs/{id} (7 scenes)": f"/api/v3/jobs/{job.id}"}
            environs = {"bare Falcon, 20-item list (floor)": (
                bare_app(), falcon.testing.create_environ(path="/items"))}
            for name, path in paths.items():
                tag = client.simulate_get(path, headers=auth).headers["ETag"]
                environs[name] = (app, falcon.testing.create_environ(path=path, headers=auth))
                environs[name + ", If-None-Match"] = (app, falcon.testing.create_environ(
                    path=path, headers={**auth, "If-None-Match": tag}))

            def call(wsgi: Any, environ: dict[str, Any]) -> None:
                b"".join(wsgi(dict(environ), lambda status, headers, exc_info=None: None))

            best = dict.fromkeys(environs, float("inf"))
            for _ in range(10):
                for name, (wsgi, environ) in environs.items():
                    call(wsgi, environ)
                    started = time.thread_time()
                    for _ in range(calls // 10):
                        call(wsgi, environ)
                    best[name] = min(best[name],
                                     (time.thread_time() - started) / (calls // 10))
        finally:
            ctx.close()
    floor = best["bare Falcon, 20-item list (floor)"]
    print(f"in process, CPU time per request, best of 10 rounds of {calls // 10}")
    table([(name, f"{cpu * 1e6:7.1f} µs  {cpu / floor:5.2f}× floor")
           for name, cpu in best.items()])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "bare", "inprocess"])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stock", action="store_true",
                        help="bare: waitress's own channel instead of actorvid's")
    args = parser.parse_args()
    if args.mode == "bare":
        serve_bare(args.port, args.threads, args.stock)
        return
    if args.mode == "inprocess":
        in_process(args.calls)
        return
    with tempfile.TemporaryDirectory(prefix="actorvid-bench-api-") as tmp:
        workdir = Path(tmp)
        fake = fake_with(1.0, workdir)
        try:
            with server(workdir, fake, threads=args.threads) as (_, url, key, lines), \
                    bare_server(args.threads) as bare, \
                    bare_server(args.threads, stock=True) as stock:
                job_id, clients_tag, job_tag = prepare(url, key)
                auth = {"X-API-Key": key}
                targets = {
                    "bare Falcon, 20-item list (floor)": (bare + "/items", {}),
                    "bare Falcon, stock waitress": (stock + "/items", {}),
                    "GET /clients (20)": (url + "/api/v3/clients", auth),
                    "GET /jobs/{id} (7 scenes)": (f"{url}/api/v3/jobs/{job_id}", auth),
                    "GET /clients, If-None-Match": (
                        url + "/api/v3/clients", {**auth, "If-None-Match": clients_tag}),
                    "GET /jobs/{id}, If-None-Match": (
                        f"{url}/api/v3/jobs/{job_id}", {**auth, "If-None-Match": job_tag}),
                }
                warned_before = sum("Task queue depth" in line for line in lines)
                results: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
                for _ in range(args.rounds):
                    for name, (target, headers) in targets.items():
                        results[name].append(wrk(target, args.duration, headers))
                warnings = sum("Task queue depth" in line for line in lines) - warned_before
        finally:
            fake.stop()
    floor = statistics.median(r for r, _ in results["bare Falcon, 20-item list (floor)"])
    rows = []
    for name, runs in results.items():
        rps = statistics.median(r for r, _ in runs)
        p99 = statistics.median(p for _, p in runs)
        rows.append((name, f"{rps:8.0f} req/s  {rps / floor:5.2f}× floor  p99 {p99:6.1f} ms"))
    rows.append(("queue-depth warnings logged", str(warnings)))
    print(f"wrk -t2 -c16 -d{args.duration}s, median of {args.rounds} rounds, "
          f"{args.threads} waitress threads")
    table(rows)


if __name__ == "__main__":
    main()
