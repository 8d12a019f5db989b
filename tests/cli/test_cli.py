"""The ``actorvid`` command as an operator runs it: real subprocesses, real files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import announced_port


def run(tmp_path, *args, env_extra=None, check=True):
    env = {**os.environ, "ACTORVID_DB": str(tmp_path / "cli.db"),
           "ACTORVID_DATA_DIR": str(tmp_path), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "actorvid", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=check, cwd=tmp_path)


def test_users_and_keys(tmp_path):
    created = run(tmp_path, "users", "create", "--username", "dana", "--email", "d@x.test",
                  env_extra={"ACTORVID_PASSWORD": "s3cret-pass"})
    assert "created user dana" in created.stderr
    keys = run(tmp_path, "keys", "create", "--username", "dana", "--name", "laptop")
    key = keys.stdout.strip()
    assert re.fullmatch(r"sk_[A-Za-z0-9_-]{40,}", key), keys.stdout
    duplicate = run(tmp_path, "users", "create", "--username", "dana", "--email", "d@x.test",
                    "--password", "x", check=False)
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    missing = run(tmp_path, "keys", "create", "--username", "nobody", check=False)
    assert missing.returncode == 1 and "User not found" in missing.stderr
    no_password = run(tmp_path, "users", "create", "--username", "eve", "--email", "e@x",
                      check=False)
    assert no_password.returncode == 2


def stopped(proc: subprocess.Popen) -> int:
    """The exit code after SIGTERM; on a hang, the server's thread dump is in the failure."""
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"server did not stop on SIGTERM:\n{(err or '')[-4000:]}") from None


def test_serve_first_start_prints_key_and_stops_on_sigterm(tmp_path):
    env = {**os.environ, "ACTORVID_DB": str(tmp_path / "serve.db"),
           "ACTORVID_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "actorvid", "serve", "--port", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    try:
        lines: list[str] = []
        port = announced_port(proc, r"listening on http://127\.0\.0\.1:(\d+)", lines)
        keys = [m.group(1) for m in (re.search(r"API key (sk_\S+)", ln) for ln in lines) if m]
        assert len(keys) == 1, lines
        key = keys[0]
        base = f"http://127.0.0.1:{port}"
        resp = requests.post(base + "/api/v3/clients", json={"name": "Acme"},
                             headers={"X-API-Key": key}, timeout=30)
        assert resp.status_code == 201
        proc.send_signal(signal.SIGTERM)
        assert stopped(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A second start keeps the same admin and prints no new key.
    proc = subprocess.Popen([sys.executable, "-m", "actorvid", "serve", "--port", "0"],
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        line = ""
        deadline = time.monotonic() + 60
        while "listening" not in line and time.monotonic() < deadline:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert "sk_" not in line
        proc.send_signal(signal.SIGTERM)
        assert stopped(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(700)
def test_demo_makes_a_video_offline(tmp_path):
    from actorvid.media import inspect
    from actorvid.media.ffmpeg import FFmpeg

    output = tmp_path / "out" / "demo.mp4"
    env = {k: v for k, v in os.environ.items()
           if k not in ("REPLICATE_API_KEY", "XAI_API_KEY", "OPENAI_API_KEY")}
    env["TMPDIR"] = str(tmp_path)  # so the test sees the demo clean up its working folder
    proc = subprocess.run([sys.executable, "-m", "actorvid", "demo", "--output", str(output),
                           "--pairs", "2"], capture_output=True, text=True, timeout=660,
                          env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == f"video: {output}"
    assert "100% Video ready" in proc.stderr
    ffmpeg = FFmpeg.locate()
    info = ffmpeg.probe(output)
    assert info.has_video and info.has_audio
    assert info.duration is not None and abs(info.duration - 8.0) <= 1 / 30 + 1e-6
    assert list(tmp_path.glob("actorvid-demo-*")) == []
    # The file a viewer gets passes every check of docs/output.md, and the camera glides.
    assert inspect.problems(ffmpeg, output, soundtrack=True) == []
    assert inspect.duplicated_frames(ffmpeg, output) == 0


def test_waitress_serve_call_create_app_stops_on_sigterm(tmp_path):
    env = {**os.environ, "ACTORVID_DB": str(tmp_path / "w.db"),
           "ACTORVID_DATA_DIR": str(tmp_path)}
    waitress = str(Path(sys.executable).with_name("waitress-serve"))
    proc = subprocess.Popen([waitress, "--listen=127.0.0.1:0", "--call",
                             "actorvid.app:create_app"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env, cwd=tmp_path)
    lines: list[str] = []
    try:
        found = announced_port(proc, r"Serving on http://127\.0\.0\.1:(\d+)", lines)
        key = (tmp_path / "w.db.admin-api-key.txt").read_text().strip()
        health = requests.get(f"http://127.0.0.1:{found}/health", timeout=30).json()["data"]
        assert health["actors"] == "ok"
        assert requests.get(f"http://127.0.0.1:{found}/api/v3/clients", timeout=30,
                            headers={"X-API-Key": key}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert stopped(proc) == 0
        assert proc.stderr is not None
        lines.append(proc.stderr.read())
        # It logs like `actorvid serve`: migrations, the actor system, the stop.
        log = "".join(lines)
        for expected in (r"INFO actorvid\.store\.migrations: applied migration 0001_",
                         r"INFO actorvid\.actors\.runtime: actor system started",
                         r"INFO actorvid\.app: signal 15: no new requests; stopping",
                         r"INFO actorvid\.app: actorvid stopped"):
            assert re.search(expected, log), (expected, log[-3000:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_help_lists_every_command_plainly(tmp_path):
    shown = run(tmp_path, "--help").stdout
    for command in ("serve", "demo", "users", "keys", "migrate", "import-legacy"):
        assert command in shown
    assert "`" not in shown
    demo = run(tmp_path, "demo", "--help").stdout
    assert "--keep" in demo and "print" in demo


def test_demo_keep_prints_the_folder_it_keeps(tmp_path):
    # --pairs 0 is refused by the API after the uploads: a quick run that still keeps.
    env = {"TMPDIR": str(tmp_path)}
    proc = run(tmp_path, "demo", "--keep", "--pairs", "0", "--no-audio",
               "--output", str(tmp_path / "x.mp4"), env_extra=env, check=False)
    assert proc.returncode == 1
    kept = [line.split("kept: ", 1)[1] for line in proc.stderr.splitlines()
            if line.startswith("kept: ")]
    assert len(kept) == 1, proc.stderr[-2000:]
    folder = Path(kept[0])
    assert folder.parent == tmp_path and folder.name.startswith("actorvid-demo-")
    assert (folder / "demo.db").exists() and list(folder.glob("*.png"))
