"""Real ``actorvid`` server processes for tests: started as ``actorvid serve`` or as
``waitress-serve --call actorvid.app:create_app`` (with the flags ``docs/operations.md`` gives) on
an ephemeral port; the log is read in the background (so the pipe never fills) and kept, the
port and the first admin key are read from it."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import TEST_SCRYPT, ApiUser, wait_until
from tests.jobs.conftest import Api

REPO = Path(__file__).resolve().parents[1]
ACTORVID_SERVE = ("-m", "actorvid", "serve", "--port", "0")
# The flags README and docs/operations.md give for waitress-serve.
WAITRESS_SERVE = ("-m", "waitress", "--listen=127.0.0.1:0", "--threads=16",
                  "--connection-limit=100", "--outbuf-high-watermark=1048576",
                  "--recv-bytes=262144", "--call", "actorvid.app:create_app")
_ANNOUNCED = re.compile(r"(?:listening|Serving) on http://127\.0\.0\.1:(\d+)")
_ADMIN_KEY = re.compile(r"API key (sk_\S+)")


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)
    # The log of earlier servers on the same database (the admin key is printed only once).
    earlier: list[str] = field(default_factory=list)

    @property
    def admin_key(self) -> str:
        return next(m.group(1) for m in map(_ADMIN_KEY.search, [*self.earlier, *self.lines])
                    if m)

    @property
    def admin(self) -> ApiUser:
        return ApiUser(1, "admin", "", self.admin_key)

    def api(self, key: str | None = None) -> Api:
        return Api(self.url, ApiUser(1, "admin", "", key or self.admin_key))

    def logged(self, text: str) -> int:
        """How many log lines so far contain ``text``."""
        return sum(text in line for line in list(self.lines))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def server_env(tmp_path: Path, db_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a test server on ``db_path``: no provider keys, fast polling, the
    test's cheap password hashing."""
    env = {**os.environ, "ACTORVID_DB": str(db_path), "ACTORVID_DATA_DIR": str(tmp_path),
           "ACTORVID_POLL_FIRST_SECONDS": "0.1", "ACTORVID_POLL_MAX_SECONDS": "0.5",
           "ACTORVID_SCRYPT_PARAMS": TEST_SCRYPT, "PYTHONPATH": str(REPO),
           "ACTORVID_PREVIEWS": "off"}  # as in tests/conftest.py's settings
    for key in ("REPLICATE_API_KEY", "XAI_API_KEY", "OPENAI_API_KEY"):
        env.pop(key, None)
    env.update(extra)
    return env


@contextmanager
def running_server(cwd: Path, env: Mapping[str, str], command: Sequence[str] = ACTORVID_SERVE,
                   keep_key_from: ServerProcess | None = None) -> Iterator[ServerProcess]:
    """The server process until the block ends (then stopped, or killed if it hangs).

    ``keep_key_from``: a server that ran on the same database before, whose log has the admin
    key (it is printed only at the first start).
    """
    proc = subprocess.Popen([sys.executable, *command], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=dict(env), cwd=cwd)
    lines: list[str] = []
    earlier = [*keep_key_from.earlier, *keep_key_from.lines] if keep_key_from else []
    assert proc.stderr is not None
    stderr = proc.stderr
    reader = threading.Thread(target=lambda: lines.extend(stderr), daemon=True)
    reader.start()
    try:
        def announced() -> str | None:
            found = next((m.group(1) for m in map(_ANNOUNCED.search, list(lines)) if m), None)
            if found is None:
                assert proc.poll() is None, "".join(lines)
            return found

        port = wait_until(announced, timeout=60, message="the server to start")
        yield ServerProcess(proc, f"http://127.0.0.1:{port}", lines, earlier)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        reader.join(timeout=10)


def query(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the database of a running (or stopped) server, read-only."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
