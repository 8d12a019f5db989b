"""Benchmark: server memory while a 100 MiB video is uploaded and downloaded, and Range seeks.

Starts the real app under waitress (``outbuf_high_watermark`` 1 MiB, ephemeral port) in a
subprocess, samples its RSS from ``/proc`` every 10 ms, and prints:

* peak RSS growth over the warmed-up baseline while a 50 MiB MP4 is uploaded (multipart,
  chunked, through probe and thumbnail), and the upload's time (median of 3) next to the
  floor: a bare Falcon app under the same waitress settings (``bench/api.py bare``)
  receiving and discarding the same body, measured alternately in the same run, each after
  a pause of :data:`SETTLE_SECONDS` (see there); and the same bare app under waitress as it
  comes (8 KiB socket reads, ``bench/api.py bare --stock``), which is how much receiving
  costs without actorvid's ``serving.RECV_BYTES``;
* peak RSS growth while four clients download it at once;
* median time to first byte of ``Range: bytes=<middle>-`` against ``bytes=0-``.

Run: ``.venv/bin/python bench/assets_memory.py [--size-mib 100] [--upload-mib 50]``.
Exits non-zero only when it
cannot run. The video is a real 0.5 s MP4 made by ffmpeg, padded to size with an ISO-BMFF
``free`` box, so it is a valid file that ffmpeg probes and thumbnails like any other.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actorvid.app import create_context  # noqa: E402
from actorvid.config import load_settings  # noqa: E402
from actorvid.media.ffmpeg import FFmpeg  # noqa: E402
from bench.api import bare_server  # noqa: E402

SERVER = """
import sys
from actorvid.app import create_app
from actorvid.serving import make_server
app = create_app(bootstrap=False)
server = make_server(app, host="127.0.0.1", port=0, threads=8,
                     max_request_body_size=1 << 30)
print(server.effective_port, flush=True)
server.run()
"""

MIB = 1024 * 1024
# Before each timed upload, to the floor or to actorvid: the server copies an upload's WAL
# into the database file and syncs it on a background thread shortly after answering
# (store/db.py), and the kernel writes both servers' temp files back; without the pause the
# next measurement, usually the floor, would pay for the one before. The checkpoint's own
# cost is in docs/benchmarks.md.
SETTLE_SECONDS = 1.0


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Sampler:
    """Track the peak RSS of a process while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> Sampler:
        self.base = rss_kib(self.pid)
        self.peak = self.base
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.base) / 1024


def make_video(path: Path, size: int) -> None:
    FFmpeg.locate().run(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=0.5",
                         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                         "-movflags", "+faststart", "-y", str(path)])
    pad = size - path.stat().st_size
    with path.open("ab") as handle:
        handle.write(pad.to_bytes(4, "big") + b"free")
        zeros = b"\0" * MIB
        left = pad - 8
        while left > 0:
            handle.write(zeros[:min(left, MIB)])
            left -= MIB


def multipart(path: Path, boundary: str) -> Iterator[bytes]:
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    with path.open("rb") as handle:
        while piece := handle.read(256 * 1024):
            yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def download(url: str, headers: dict[str, str]) -> int:
    total = 0
    with requests.get(url, headers=headers, stream=True, timeout=300) as resp:
        resp.raise_for_status()
        for piece in resp.iter_content(64 * 1024):
            total += len(piece)
    return total


def first_byte(url: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    with requests.get(url, headers=headers, stream=True, timeout=60) as resp:
        assert resp.status_code == 206, resp.status_code
        next(resp.iter_content(1))
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--upload-mib", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * MIB
    load_start = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="actorvid-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "ACTORVID_DB": str(root / "bench.db"),
               "ACTORVID_DATA_DIR": str(root), "ACTORVID_MAX_UPLOAD_BYTES": str(size + MIB),
               "ACTORVID_PROVIDER": "local",
               # One benchmark user downloads four at once: lift the per-user share (2).
               "ACTORVID_MAX_STREAMS_PER_USER": str(max(2, args.clients))}
        settings = load_settings(env, dotenv=None)
        ctx = create_context(settings, bootstrap=False)
        user = ctx.accounts.create_user("bench", "bench@localhost", "bench-password")
        headers = {"X-API-Key": ctx.accounts.create_api_key(user.id, "bench").key}
        ctx.close()  # and its hold on the database file, which the server takes next

        video = root / "big.mp4"
        small = root / "small.mp4"
        make_video(video, size)
        make_video(small, 256 * 1024)
        sent = root / "upload.mp4"
        make_video(sent, args.upload_mib * MIB)

        proc = subprocess.Popen([sys.executable, "-c", SERVER], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline().strip())
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(base + "/health", timeout=2)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

            boundary = "benchboundary"
            growths: list[float] = []
            upload_headers = {**headers,
                              "Content-Type": f"multipart/form-data; boundary={boundary}"}
            # Warm-up: import paths, pools and ffmpeg once, so growth is what a big file costs.
            warm = requests.post(base + "/api/v3/assets", data=multipart(small, boundary),
                                 headers=upload_headers, timeout=120)
            warm.raise_for_status()
            download(base + warm.json()["data"]["url"], headers)

            def post(target: str) -> float:
                time.sleep(SETTLE_SECONDS)
                started = time.perf_counter()
                resp = requests.post(target, data=multipart(sent, boundary),
                                     headers=upload_headers, timeout=600)
                resp.raise_for_status()
                return time.perf_counter() - started

            uploads, floors, stock_floors = [], [], []
            with bare_server(8) as bare, bare_server(8, stock=True) as stock:
                post(bare + "/upload")  # warm-up
                post(stock + "/upload")
                for _ in range(args.rounds):
                    floors.append(post(bare + "/upload"))
                    stock_floors.append(post(stock + "/upload"))
                    with Sampler(proc.pid) as up:
                        uploads.append(post(base + "/api/v3/assets"))
                    growths.append(up.growth_mib)
            upload_seconds = statistics.median(uploads)
            floor_seconds = statistics.median(floors)
            stock_seconds = statistics.median(stock_floors)
            resp = requests.post(base + "/api/v3/assets", data=multipart(video, boundary),
                                 headers=upload_headers, timeout=600)
            resp.raise_for_status()
            url = base + resp.json()["data"]["url"]

            results: list[int] = []
            with Sampler(proc.pid) as down:
                started = time.perf_counter()
                threads = [threading.Thread(target=lambda: results.append(download(url,
                                                                                   headers)))
                           for _ in range(args.clients)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                download_seconds = time.perf_counter() - started
            assert results == [size] * args.clients, results

            middle = size // 2
            firsts, middles = [], []
            for _ in range(20):
                firsts.append(first_byte(url, {**headers, "Range": "bytes=0-"}))
                middles.append(first_byte(url, {**headers, "Range": f"bytes={middle}-"}))
            ttfb_first = statistics.median(firsts) * 1000
            ttfb_middle = statistics.median(middles) * 1000
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    load_end = os.getloadavg()[0]
    print(f"assets memory benchmark: {args.size_mib} MiB video, waitress "
          f"outbuf_high_watermark 1 MiB, {args.clients} concurrent downloads")
    print(f"{'figure':<44}{'value':>14}")
    print(f"{'load average (1 min) at start / end':<44}{f'{load_start:.1f} / {load_end:.1f}':>14}")
    print(f"{'baseline server RSS (MiB)':<44}{up.base / 1024:>14.1f}")
    print(f"{f'{args.upload_mib} MiB upload: peak RSS growth (MiB)':<44}{max(growths):>14.1f}")
    print(f"{f'{args.upload_mib} MiB upload: time (s)':<44}{upload_seconds:>14.2f}")
    print(f"{'  floor: bare waitress app discarding it (s)':<44}{floor_seconds:>14.2f}")
    print(f"{'  upload / floor':<44}{upload_seconds / floor_seconds:>14.2f}")
    print(f"{'  floor under stock waitress (s)':<44}{stock_seconds:>14.2f}")
    print(f"{'  upload / stock floor':<44}{upload_seconds / stock_seconds:>14.2f}")
    print(f"{f'{args.clients} downloads: peak RSS growth (MiB)':<44}{down.growth_mib:>14.1f}")
    print(f"{f'{args.clients} downloads: wall time (s)':<44}{download_seconds:>14.2f}")
    print(f"{'Range first byte: median TTFB (ms)':<44}{ttfb_first:>14.2f}")
    print(f"{'Range middle: median TTFB (ms)':<44}{ttfb_middle:>14.2f}")
    print(f"{'middle / first':<44}{ttfb_middle / ttfb_first:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
