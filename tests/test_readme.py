"""The README's walk-through, run verbatim with bash against a live ``waitress-serve``.

One real server process serves it as the README says to start one (``waitress-serve --call
actorvid.app:create_app``), offline, with JSON logs; so this also checks that the server logs
under waitress-serve, and that its log lines carry request, job and scene ids.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from actorvid.media.ffmpeg import FFmpeg
from tests.cli.test_cli import stopped
from tests.conftest import announced_port
from tests.fakes.media import make_image

README = Path(__file__).resolve().parents[1] / "README.md"
MARK = "<!-- walkthrough: the block below is run by tests/test_readme.py -->"


def readme_block(after: str) -> str:
    """The first ```sh block after the line ``after``."""
    text = README.read_text()
    start = text.index(after)
    match = re.compile(r"```sh\n(.*?)```", re.S).search(text, start)
    assert match, f"no sh block after {after!r}"
    return match.group(1)


def test_readme_addresses_agree() -> None:
    text = README.read_text()
    assert "API=http://127.0.0.1:8000/api/v3" in text
    assert "--listen=127.0.0.1:8000" in text and "--outbuf-high-watermark=1048576" in text
    assert "--recv-bytes=262144" in text


@pytest.mark.timeout(300)
def test_readme_walkthrough_makes_a_video(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for n, color in enumerate(("navy", "orange", "teal", "maroon")):
        make_image(photos / f"room{n}.jpg", width=320, height=180, color=color, pattern=False)
    env = {k: v for k, v in os.environ.items()
           if k not in ("REPLICATE_API_KEY", "XAI_API_KEY", "OPENAI_API_KEY")}
    env.update(ACTORVID_DB=str(tmp_path / "walk.db"), ACTORVID_PROVIDER="local",
               ACTORVID_LOG_FORMAT="json")
    env.pop("ACTORVID_DATA_DIR", None)
    waitress = str(Path(sys.executable).with_name("waitress-serve"))
    # Port 0: waitress picks a free one and names it in its "Serving on" line.
    proc = subprocess.Popen([waitress, "--listen=127.0.0.1:0", "--outbuf-high-watermark=1048576",
                             "--recv-bytes=262144", "--call", "actorvid.app:create_app"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env, cwd=tmp_path)
    lines: list[str] = []
    try:
        port = announced_port(proc, r"Serving on http://127\.0\.0\.1:(\d+)", lines)
        # Keep reading the log while the walk-through runs, so a full pipe never blocks it.
        stderr = proc.stderr
        assert stderr is not None
        reader = threading.Thread(target=lambda: lines.extend(stderr),
                                  daemon=True)
        reader.start()
        base = f"http://127.0.0.1:{port}"
        key = (tmp_path / "walk.db.admin-api-key.txt").read_text().strip()
        run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", readme_block(MARK)],
                             cwd=tmp_path, env={**env, "KEY": key, "API": base + "/api/v3"},
                             capture_output=True, text=True, timeout=240)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        info = FFmpeg.locate().probe(tmp_path / "video.mp4")
        assert info.has_video and info.duration == pytest.approx(8.0, abs=0.2)  # 2 clips of 4 s

        # A request whose log line must carry the id the client chose.
        headers = {"X-API-Key": key}
        asset = requests.get(base + "/api/v3/assets", headers=headers,
                             timeout=30).json()["data"][0]
        assert requests.delete(f"{base}/api/v3/assets/{asset['id']}", timeout=30,
                               headers={**headers, "X-Request-ID": "readme-1"}).ok
        job_id = int(requests.get(base + "/api/v3/jobs", headers=headers,
                                  timeout=30).json()["data"][0]["id"])
        proc.send_signal(signal.SIGTERM)
        assert stopped(proc) == 0
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = []
    for line in "".join(lines).splitlines():
        if line.startswith("actorvid: "):
            continue  # the first start's key notice, printed outside the logs on purpose
        records.append(json.loads(line))  # every log line is one JSON object
    messages = [r["message"] for r in records]
    assert any(m.startswith("applied migration 0001_") for m in messages)
    assert any(r.get("request_id") == "readme-1" and r["message"].startswith("deleted asset")
               for r in records)
    assert any(r.get("job_id") == job_id for r in records)
    assert any(r.get("job_id") == job_id and r.get("scene_id") for r in records)
    assert messages[-1] == "actorvid stopped"
