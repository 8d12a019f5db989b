"""A prediction of the offline (local) providers, as it is kept between restarts.

Here, in the domain, because two layers that must not import each other both hold it: the
local providers read it back (``providers/local_store.py``, which also keeps it in memory) and
the store keeps it in SQLite (``store/local_predictions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LocalPrediction:
    """What to make, and how it went."""

    id: str
    kind: str  # "video" or "music"
    tag: str
    input: dict[str, Any]
    status: str
    created_at: str
    error: str | None = None
    # Whether its output is still kept (retention drops old outputs, the record stays).
    has_output: bool = False
    completed_at: str | None = None
