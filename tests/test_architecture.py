"""The layer rule of docs/architecture.md is the one ``lint-imports`` enforces, and it bites.

The table under "## Layers" and the ``layers`` contract of ``.importlinter`` must name the same
modules, row by row, in the same order, and every module of ``actorvid`` must sit in a row; an
import pointing up must break the contract (shown on a copy of the source, not the real tree).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
DOC = ROOT / "docs" / "architecture.md"


def contract_layers() -> list[set[str]]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    raw = parser["importlinter:contract:layers"]["layers"]
    return [{name.strip() for name in re.split(r"[|:]", line) if name.strip()}
            for line in raw.strip().splitlines()]


def doc_layers() -> list[set[str]]:
    text = DOC.read_text()
    section = text[text.index("\n## Layers\n") + len("\n## Layers\n"):]
    rows = []
    for line in section.splitlines():
        if line.startswith("## "):
            break
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        rows.append({name.rstrip("/").removesuffix(".py")
                     for name in re.findall(r"`([^`]+)`", first_cell)})
    return rows


def test_the_documented_table_is_the_contract() -> None:
    assert doc_layers() == contract_layers()


def test_every_module_of_actorvid_sits_in_a_layer() -> None:
    placed = set().union(*contract_layers())
    package = ROOT / "actorvid"
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {p.parent.name for p in package.glob("*/__init__.py")}
    assert modules - placed == set(), "place the new module in .importlinter and the doc table"
    assert placed - modules == set()


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(script), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "actorvid", tmp_path / "actorvid",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    models = tmp_path / "actorvid" / "domain" / "models.py"
    # The pure domain reaching up into the HTTP layer: the kind of import the rule forbids.
    models.write_text(models.read_text() + "\nfrom actorvid.api import envelope  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "actorvid.domain is not allowed to import actorvid.api" in result.stdout
    assert "actorvid.domain.models -> actorvid.api.envelope" in result.stdout
    # Only that: the copy is otherwise the real tree, whose contracts all hold.
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    contracts = [s for s in parser.sections() if s.startswith("importlinter:contract:")]
    assert f"Contracts: {len(contracts) - 1} kept, 1 broken." in result.stdout
