"""The import report (JSON) and the progress line on stderr."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from actorvid.clock import now_iso

KINDS = ("user", "api_key", "client", "campaign", "asset", "job", "scene", "sub_job", "audio")


@dataclass
class ImportReport:
    """What one run did: per kind, new / already imported / skipped, the id mapping, notes."""

    source: str
    target: str
    dry_run: bool
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    interrupted: str | None = None
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: {"new": 0, "already": 0, "skipped": 0} for k in KINDS})
    # old id -> new id, per kind, of the rows imported (or, in a dry run, to be imported)
    mapping: dict[str, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    bytes_copied: int = 0

    def imported(self, kind: str, old_id: str, new_id: str) -> None:
        self.counts[kind]["new"] += 1
        self.mapping[kind][old_id] = new_id

    def already(self, kind: str) -> None:
        self.counts[kind]["already"] += 1

    def skip(self, kind: str, old_id: str, reason: str) -> None:
        self.counts[kind]["skipped"] += 1
        self.skipped.append({"kind": kind, "id": old_id, "reason": reason})

    def note(self, kind: str, old_id: str, text: str) -> None:
        self.notes.append({"kind": kind, "id": old_id, "note": text})

    @property
    def total_new(self) -> int:
        return sum(c["new"] for c in self.counts.values())

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        parts = [f"{k} {c['new']}" for k, c in self.counts.items() if c["new"]]
        skipped = sum(c["skipped"] for c in self.counts.values())
        already = sum(c["already"] for c in self.counts.values())
        return (f"{verb}: {', '.join(parts) or 'nothing new'}; already imported {already}; "
                f"skipped {skipped}; {self.bytes_copied / 1048576:.1f} MiB of media")

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "dryRun": self.dry_run,
                "startedAt": self.started_at, "finishedAt": self.finished_at,
                "interrupted": self.interrupted, "counts": self.counts,
                "bytesCopied": self.bytes_copied, "mapping": self.mapping,
                "skipped": self.skipped, "notes": self.notes}

    def write(self, path: Path) -> Path:
        """Write the report atomically (it may hold the mapping of a large import)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2, sort_keys=False)
            handle.write("\n")
        os.replace(tmp, path)
        return path


class ProgressBar:
    """A one-line bar of rows and bytes, redrawn at most ``interval`` seconds apart.

    Draws only when ``stream`` is a TTY; otherwise it stays quiet until :meth:`finish` prints
    a single summary line (logs and CI output stay readable).
    """

    WIDTH = 28

    def __init__(self, total_rows: int, total_bytes: int, *, stream: TextIO | None = None,
                 interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total_rows = max(total_rows, 1)
        self.total_bytes = total_bytes
        self.rows = 0
        self.bytes = 0
        self.label = ""
        self.interval = interval
        self._last = 0.0
        self._started = time.monotonic()
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())

    def update(self, *, rows: int = 0, nbytes: int = 0, label: str | None = None) -> None:
        self.rows += rows
        self.bytes += nbytes
        if label is not None:
            self.label = label
        now = time.monotonic()
        if self.tty and now - self._last >= self.interval:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        fraction = min(self.rows / self.total_rows, 1.0)
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        mib = self.bytes / 1048576
        total_mib = self.total_bytes / 1048576
        self.stream.write(f"\r[{bar}] {self.rows}/{self.total_rows} rows "
                          f"{mib:.1f}/{total_mib:.1f} MiB {self.label:<10}")
        self.stream.flush()

    def finish(self, summary: str) -> None:
        elapsed = time.monotonic() - self._started
        if self.tty:
            self._draw()
            self.stream.write("\n")
        self.stream.write(f"{summary} ({elapsed:.1f}s)\n")
        self.stream.flush()
