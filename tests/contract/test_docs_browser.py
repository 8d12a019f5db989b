"""The docs page, rendered by a real browser (headless Chromium) against a live server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from actorvid.api.openapi import DOCS_PATH, OPERATIONS
from tests.conftest import LiveServer


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_docs_page_lists_every_operation_in_chromium(live_server: LiveServer,
                                                     tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run this test (.ci/run "
                        "installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this")
    proc = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", live_server.url + DOCS_PATH],
        capture_output=True, text=True, timeout=90)
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<p id=\"error\"></p>" in dom, "the page reported an error loading the JSON"
    assert "OpenAPI 3.1" in dom  # the title is set by the script once the JSON is loaded
    for path, method in OPERATIONS:
        if path == "/api/v3/debug/actors":
            continue  # served only with the actor system running
        marker = f'data-path="{path}" data-method="{method}"'
        assert marker in dom, f"{method} {path} is not on the rendered page"
