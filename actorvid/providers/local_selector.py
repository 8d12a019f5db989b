"""The offline pair selector: deterministic pairs of photos, by room and by tag.

What ``LLMSelector`` falls back to and what runs without keys; it never calls anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from actorvid.domain.drafts import SelectedPair
from actorvid.errors import ProviderError
from actorvid.providers.base import (
    AssetSummary,
    SelectionRequest,
    SelectionResult,
)
from actorvid.workflows.scenes import PROPERTY_SCENES

# Ideal tags of the seven property scene types (their one home is workflows/scenes.py), used
# when the request does not bring its own.
DEFAULT_SCENE_TAGS: dict[str, tuple[str, ...]] = {
    scene.name.lower(): scene.ideal_tags for scene in PROPERTY_SCENES}

_WORD = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower().replace("_", " ")))


def _asset_words(asset: AssetSummary) -> set[str]:
    words = _words(asset.name)
    for tag in asset.tags:
        words |= _words(tag)
        words.add(tag.lower().strip())
    return words


def room_of(asset: AssetSummary) -> str:
    """The room an image shows: its first tag without a trailing number ("Bedroom 1 2" →
    "bedroom 1"), else its name without digits and extension."""
    if asset.tags:
        parts = asset.tags[0].lower().split()
        if len(parts) > 1 and parts[-1].isdigit():
            parts = parts[:-1]
        return " ".join(parts)
    stem = asset.name.rsplit(".", 1)[0].lower()
    return " ".join(_WORD.findall(stem.replace("_", " "))) or "untagged"


class LocalSelector:
    """Deterministic pairs: two distinct images of the same room, or the best tag match."""

    name = "local"

    def select(self, request: SelectionRequest) -> SelectionResult:
        assets = list(request.assets)
        if len(assets) < 2:
            raise ProviderError("Need at least 2 images to select pairs", status=422)
        if request.scene_types:
            return self.select_scenes(request, used=set())
        return SelectionResult(pairs=self._pairs(assets, request.num_pairs,
                                                 reuse=request.allow_reuse),
                               provider="local")

    def _pairs(self, assets: Sequence[AssetSummary], count: int, *, reuse: bool = False
               ) -> list[SelectedPair]:
        groups: dict[str, list[AssetSummary]] = {}
        for asset in assets:
            groups.setdefault(room_of(asset), []).append(asset)
        # Bigger rooms first (more choice), ties in order of first appearance: deterministic.
        order = sorted(groups, key=lambda room: -len(groups[room]))
        pairs: list[SelectedPair] = []
        used: set[str] = set()
        for room in order:
            members = groups[room]
            for i in range(0, len(members) - 1, 2):
                if len(pairs) < count:
                    pairs.append(SelectedPair(members[i].id, members[i + 1].id, room, 0.8,
                                              f"Two views of the {room}"))
                    used |= {members[i].id, members[i + 1].id}
        leftovers = [a for a in assets if a.id not in used]
        for i in range(0, len(leftovers) - 1, 2):
            if len(pairs) < count:
                pairs.append(SelectedPair(leftovers[i].id, leftovers[i + 1].id, "", 0.5,
                                          "Remaining images paired in order"))
        if not reuse:
            return pairs  # fewer than asked: the caller says so, nothing is padded
        # More pairs asked than distinct images allow, and reuse allowed: never a pair twice.
        seen = {(p.first_id, p.last_id) for p in pairs}
        n = len(assets)
        for step in range(1, n):
            for i in range(n):
                if len(pairs) >= count:
                    return pairs
                a, b = assets[i], assets[(i + step) % n]
                if (a.id, b.id) not in seen:
                    seen.add((a.id, b.id))
                    pairs.append(SelectedPair(a.id, b.id, "", 0.3, "Images reused to reach "
                                              "the number of pairs asked"))
        return pairs[:count]

    def select_scenes(self, request: SelectionRequest, *, used: set[str],
                      only: Sequence[str] | None = None,
                      scene_tags: dict[str, Sequence[str]] | None = None) -> SelectionResult:
        """One pair per scene type (``only`` a subset), best tag matches among unused images."""
        assets = list(request.assets)
        given = {**request.scene_tags, **(scene_tags or {})}
        tags_of = {**DEFAULT_SCENE_TAGS,
                   **{" ".join(k.lower().split()): tuple(v) for k, v in given.items()}}
        words = {a.id: _asset_words(a) for a in assets}
        pairs: list[SelectedPair] = []
        notes: list[str] = []
        for scene in only if only is not None else request.scene_types:
            ideal = tags_of.get(" ".join(scene.lower().split()), tuple(_words(scene)))
            ideal_words = set(ideal) | {w for t in ideal for w in _words(t)}

            def score(asset: AssetSummary, ideal_words: set[str] = ideal_words) -> int:
                return len(words[asset.id] & ideal_words)

            free = [a for a in assets if a.id not in used]
            if len(free) < 2:
                # Fewer photos than scenes need: reuse the least-matching-loss choice, say so.
                free = list(assets)
                notes.append(f"{scene}: not enough unused photos, photos reused")
            ranked = sorted(free, key=lambda a: -score(a))  # stable: input order breaks ties
            first, last = ranked[0], ranked[1]
            matched = score(first) + score(last)
            used |= {first.id, last.id}
            pairs.append(SelectedPair(
                first.id, last.id, scene, round(min(1.0, 0.4 + 0.1 * matched), 2),
                f"Best tag match for {scene}" if matched else f"No tag match for {scene}; "
                                                                "first unused photos"))
        return SelectionResult(pairs=pairs, provider="local", notes=notes)
