"""The service in a subprocess on an ephemeral port, for attacks on a real server: started
as ``actorvid serve`` or as ``waitress-serve --call actorvid.app:create_app`` with the flags
``docs/operations.md`` gives."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import TEST_SCRYPT, ApiUser, wait_until

ACTORVID_SERVE = ("-m", "actorvid", "serve", "--port", "0")
WAITRESS_SERVE = ("-m", "waitress", "--listen=127.0.0.1:0", "--threads=16",
                  "--connection-limit=100", "--outbuf-high-watermark=1048576",
                  "--call", "actorvid.app:create_app")


@dataclass
class ServerProcess:
    url: str
    admin: ApiUser
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def logged(self, text: str) -> int:
        """How many log lines so far contain ``text``."""
        return sum(text in line for line in list(self.lines))


@contextmanager
def serve_process(tmp_path: Path, command: Sequence[str] = ACTORVID_SERVE, **env: str
                  ) -> Iterator[ServerProcess]:
    environ = {**os.environ, "ACTORVID_DB": str(tmp_path / "actorvid.db"),
               "ACTORVID_DATA_DIR": str(tmp_path), "ACTORVID_PROVIDER": "local",
               "ACTORVID_SCRYPT_PARAMS": TEST_SCRYPT, **env}
    proc = subprocess.Popen([sys.executable, *command],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=environ, cwd=tmp_path)
    lines: list[str] = []
    assert proc.stderr is not None
    stderr = proc.stderr

    def read() -> None:
        for line in stderr:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        def announced() -> str | None:
            for line in list(lines):
                match = re.search(r"(?:listening|Serving) on http://127\.0\.0\.1:(\d+)", line)
                if match:
                    return match.group(1)
            assert proc.poll() is None, "".join(lines)
            return None

        port = wait_until(announced, timeout=60, message="the server to start")
        key = (tmp_path / "actorvid.db.admin-api-key.txt").read_text().strip()
        yield ServerProcess(f"http://127.0.0.1:{port}", ApiUser(1, "admin", "", key), proc,
                            lines)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        reader.join(timeout=10)
