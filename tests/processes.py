"""Real ``actorvid`` server processes for tests: start, read the port and the admin key from
the log, kill or stop them. Every port is ephemeral."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ApiUser, wait_until
from tests.jobs.conftest import Api

REPO = Path(__file__).resolve().parents[1]


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def admin_key(self) -> str:
        return next(m.group(1) for m in (re.search(r"API key (sk_\S+)", ln)
                                          for ln in self.lines) if m)

    def api(self, key: str | None = None) -> Api:
        return Api(self.url, ApiUser(0, "admin", "", key or self.admin_key))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def server_env(tmp_path: Path, db_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "ACTORVID_DB": str(db_path), "ACTORVID_DATA_DIR": str(tmp_path),
           "ACTORVID_POLL_FIRST_SECONDS": "0.1", "ACTORVID_POLL_MAX_SECONDS": "0.5",
           "PYTHONPATH": str(REPO)}
    for key in ("REPLICATE_API_KEY", "XAI_API_KEY", "OPENAI_API_KEY"):
        env.pop(key, None)
    env.update(extra)
    return env


@contextmanager
def running_server(cwd: Path, env: Mapping[str, str],
                   command: Sequence[str] = ("serve", "--port", "0"),
                   keep_key_from: ServerProcess | None = None) -> Iterator[ServerProcess]:
    """``python -m actorvid serve`` until the block ends (then killed if still running)."""
    proc = subprocess.Popen([sys.executable, "-m", "actorvid", *command],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=dict(env), cwd=cwd)
    lines: list[str] = list(keep_key_from.lines) if keep_key_from else []
    try:
        def announced() -> str | bool:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            lines.append(line)
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            return match.group(1) if match else (proc.poll() is not None and "exited")

        port = wait_until(announced, timeout=60, interval=0, message="server start")
        assert port != "exited", "".join(lines)
        yield ServerProcess(proc, f"http://127.0.0.1:{port}", lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


def query(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the database of a running (or stopped) server, read-only."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
