"""What a selector and a storyboard writer hand back: plain values the pure workflows build on.

They live here, not in ``providers/base.py`` beside the protocols that produce them, so that
``workflows/`` depends on the domain only and never on the I/O package (the layer rule in
``docs/architecture.md``, enforced by ``lint-imports``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SelectedPair:
    first_id: str
    last_id: str
    scene_type: str = ""
    score: float = 0.5
    reasoning: str = ""


@dataclass(frozen=True)
class SceneDraft:
    scene_number: int
    duration: float
    description: str
    script: str = ""
    shot_type: str = "medium"
    transition: str = "cut"
    assets: tuple[str, ...] = ()
    metadata: dict[str, object] = field(default_factory=dict)
