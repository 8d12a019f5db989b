"""Shared fixtures: a real SQLite file per test, the real app, real waitress on loopback."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import falcon
import falcon.testing
import pytest
import requests

from actorvid.api.context import AppContext
from actorvid.app import build_app, create_context
from actorvid.config import Settings, load_settings
from tests.fakes.server import LoopbackServer

# The fake Replicate and xAI servers (tests/fakes), for every suite that needs them.
pytest_plugins = ["tests.fakes.fixtures"]


TEST_SCRYPT = "16384,8,1"
T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float = 30.0,
               interval: float = 0.02, message: str = "condition") -> T:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes (then fail the test); return
    that value (typed without None, so a wait for an object hands back the object)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def announced_port(proc: subprocess.Popen[str], pattern: str, lines: list[str],
                   timeout: float = 60.0) -> str:
    """Read a starting server's stderr (into ``lines``) until a line matches ``pattern``,
    whose first group is the port it listens on; fail if the process exits first."""
    assert proc.stderr is not None

    def announced() -> str | bool:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        lines.append(line)
        match = re.search(pattern, line)
        return match.group(1) if match else (proc.poll() is not None and "exited")

    port = wait_until(announced, timeout=timeout, interval=0, message="server start")
    assert port != "exited", "".join(lines)
    return str(port)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"ACTORVID_DB": str(tmp_path / "actorvid.db"),
                          "ACTORVID_DATA_DIR": str(tmp_path),
                          "ACTORVID_PROVIDER": "local",
                          # A fifth of the production cost: most tests create users.
                          "ACTORVID_SCRYPT_PARAMS": TEST_SCRYPT,
                          # Previews only where a test asks (tests/jobs/test_preview.py and
                          # the README walk-through keep the production default): a background
                          # render for every job awaiting approval would cost the suite minutes.
                          "ACTORVID_PREVIEWS": "off"}, dotenv=None)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[AppContext]:
    """The app's context without the actor system (API and store tests)."""
    context = create_context(settings, bootstrap=False)
    yield context
    context.close()


@pytest.fixture
def live_ctx(settings: Settings) -> Iterator[AppContext]:
    """The app's context with providers and the actor system running (job tests)."""
    context = create_context(settings, bootstrap=False, start_actors=True)
    yield context
    context.close()


@pytest.fixture
def app(ctx: AppContext) -> falcon.App:
    return build_app(ctx)


@pytest.fixture
def client(app: falcon.App) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@dataclass
class ApiUser:
    id: int
    username: str
    password: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def make_user(ctx: AppContext, username: str, *, is_admin: bool = False) -> ApiUser:
    password = f"pw-{username}-secret"
    user = ctx.accounts.create_user(username, f"{username}@example.com", password,
                                    is_admin=is_admin)
    key = ctx.accounts.create_api_key(user.id, "test").key
    return ApiUser(user.id, username, password, key)


@pytest.fixture
def user(ctx: AppContext) -> ApiUser:
    return make_user(ctx, "alice")


@pytest.fixture
def other_user(ctx: AppContext) -> ApiUser:
    return make_user(ctx, "bob")


@pytest.fixture
def admin(ctx: AppContext) -> ApiUser:
    return make_user(ctx, "root", is_admin=True)


@dataclass
class LiveServer:
    url: str
    server: object

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def serve_in_thread(wsgi_app: Callable[..., Any], *, threads: int = 4, **options: Any
                    ) -> Iterator[LiveServer]:
    """Run waitress on 127.0.0.1 with an ephemeral port until the generator is closed."""
    with LoopbackServer(wsgi_app, name="actorvid", threads=threads, **options) as server:
        yield LiveServer(server.url, server)


@pytest.fixture
def live_server(app: falcon.App) -> Iterator[LiveServer]:
    yield from serve_in_thread(app)
