"""The photo selector and the storyboard writer that ask a chat model (xAI or OpenAI).

Both check what the model answered against what was asked, repair what they can and fall back
to the local selector/templates for the rest. Split out of ``providers/xai.py`` (issue 16),
which keeps the chat client itself.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from actorvid.domain import models
from actorvid.domain.drafts import SceneDraft, SelectedPair
from actorvid.errors import ProviderError
from actorvid.providers.base import (
    AssetSummary,
    ReadBlob,
    SelectionRequest,
    SelectionResult,
    StoryboardRequest,
)
from actorvid.providers.local_selector import LocalSelector
from actorvid.providers.local_writer import LocalStoryboardWriter, spread
from actorvid.providers.xai import BadAnswer, ChatClient
from actorvid.workflows.selection import check_pairs

logger = logging.getLogger(__name__)


# --- selection -------------------------------------------------------------------------------

SYSTEM_SELECT = (
    "You are an expert creative director and video producer. You choose pairs of photos; each "
    "pair becomes one video clip that starts on the first photo and ends on the second, so the "
    "two photos of a pair should show the same space or subject from compatible angles, with "
    "similar light and colour. Answer only with JSON that matches the given schema.")


class ChatSelector:
    """Pairs (or one pair per scene type) chosen by an LLM, checked, repaired, or local."""

    def __init__(self, client: ChatClient, *, fallback: LocalSelector | None = None,
                 read_blob: ReadBlob | None = None, attempts: int = 3, max_images: int = 16,
                 max_image_bytes: int = 256 * 1024, temperature: float = 0.3) -> None:
        self.client = client
        self.name = client.provider
        self.fallback = fallback or LocalSelector()
        self._read_blob = read_blob
        self.attempts = attempts
        self.max_images = max_images
        self.max_image_bytes = max_image_bytes
        self.temperature = temperature

    def select(self, request: SelectionRequest) -> SelectionResult:
        assets = list(request.assets)
        if len(assets) < 2:
            raise ProviderError("Need at least 2 images to select pairs", status=422)
        scene_mode = bool(request.scene_types)
        wanted = len(request.scene_types) if scene_mode else request.num_pairs
        # No photo twice, unless more pairs are asked than the photos allow.
        unique = scene_mode or wanted * 2 <= len(assets)
        messages = self._messages(request, wanted, unique)
        schema = self._schema(request, wanted)
        best: list[SelectedPair] = []
        notes: list[str] = []
        cost = 0.0
        for attempt in range(1, self.attempts + 1):
            try:
                answer, result = self.client.complete_json(
                    messages, schema=schema, schema_name="image_pairs",
                    temperature=self.temperature)
                cost += result.cost
            except BadAnswer as exc:
                notes.append(f"attempt {attempt}: {exc.message}")
                continue
            except ProviderError as exc:
                logger.warning("selection via %s failed: %s", self.name, exc.message)
                notes.append(f"{self.name} unavailable: {exc.message}")
                if not exc.retryable:
                    break
                continue
            pairs, problems = self._validate(answer, request, unique)
            if len(pairs) > len(best):
                best = pairs
            if not problems:
                break
            notes.append(f"attempt {attempt}: " + "; ".join(problems[:5]))
            if scene_mode and pairs:
                break  # property mode repairs what is missing instead of paying again
        if not best:
            local = self.fallback.select(request)
            return SelectionResult(pairs=local.pairs, provider="local",
                                   notes=[*notes, "fell back to the local selector",
                                          *local.notes], cost=cost)
        pairs = self._fill(request, best, wanted, unique, notes)
        return SelectionResult(pairs=pairs, provider=self.name, notes=notes, cost=cost)

    def _fill(self, request: SelectionRequest, pairs: list[SelectedPair], wanted: int,
              unique: bool, notes: list[str]) -> list[SelectedPair]:
        if len(pairs) >= wanted:
            return pairs[:wanted]
        used = {i for p in pairs for i in (p.first_id, p.last_id)} if unique else set()
        if request.scene_types:
            covered = {p.scene_type for p in pairs}
            missing = [s for s in request.scene_types if s not in covered]
            local = self.fallback.select_scenes(request, used=used, only=missing)
            notes.append("filled by the local selector: " + ", ".join(missing))
            notes.extend(local.notes)
            by_scene = {p.scene_type: p for p in [*pairs, *local.pairs]}
            return [by_scene[s] for s in request.scene_types]
        free = [a for a in request.assets if a.id not in used]
        source = free if len(free) >= 2 else list(request.assets)
        extra = self.fallback.select(replace(request, assets=source, num_pairs=wanted)).pairs
        have = {(p.first_id, p.last_id) for p in pairs}
        added = 0
        for pair in extra:
            if len(pairs) >= wanted:
                break
            if (pair.first_id, pair.last_id) not in have:
                pairs.append(pair)
                have.add((pair.first_id, pair.last_id))
                added += 1
        notes.append(f"{added} pair(s) filled by the local selector")
        return pairs

    def _validate(self, answer: Any, request: SelectionRequest, unique: bool
                  ) -> tuple[list[SelectedPair], list[str]]:
        """Pairs that are acceptable, and what was wrong with the rest."""
        items = answer.get("pairs") if isinstance(answer, dict) else answer
        if not isinstance(items, list):
            return [], ["no pairs list"]
        ids = {a.id for a in request.assets}
        scene_mode = bool(request.scene_types)
        wanted = len(request.scene_types) if scene_mode else request.num_pairs
        candidates: list[SelectedPair] = []
        problems: list[str] = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                problems.append(f"pair {n} is not an object")
                continue
            first = str(item.get("first_id") or item.get("image1_id") or "")
            last = str(item.get("last_id") or item.get("image2_id") or "")
            scene = str(item.get("scene_type") or "")
            if scene_mode and scene not in request.scene_types:
                problems.append(f"pair {n} has an unknown scene type")
                continue
            try:
                score = max(0.0, min(1.0, float(item.get("score", 0.5))))
            except (TypeError, ValueError):
                score = 0.5
            candidates.append(SelectedPair(first, last, scene, score,
                                           str(item.get("reasoning") or "")[:500]))
        # The rules every selection obeys (ids exist, no photo twice, one pair per scene type)
        # are checked in one place, the same check the pipelines run on any selector's answer.
        pairs, dropped = check_pairs(candidates, ids, exclusive=unique,
                                     one_per_type=scene_mode, distinct=True)
        problems += dropped
        if len(pairs) > wanted:
            problems.append(f"{len(pairs)} pairs instead of {wanted}")
            pairs = pairs[:wanted]
        elif len(pairs) < wanted:
            problems.append(f"{len(pairs)} usable pairs instead of {wanted}")
        if scene_mode:
            order = {s: i for i, s in enumerate(request.scene_types)}
            pairs.sort(key=lambda p: order[p.scene_type])
        return pairs, problems

    def _schema(self, request: SelectionRequest, wanted: int) -> dict[str, Any]:
        ids = [a.id for a in request.assets]
        item: dict[str, Any] = {
            "type": "object",
            "properties": {
                "first_id": {"type": "string", "enum": ids},
                "last_id": {"type": "string", "enum": ids},
                "score": {"type": "number"},
                "reasoning": {"type": "string"},
            },
            "required": ["first_id", "last_id", "score", "reasoning"],
            "additionalProperties": False,
        }
        if request.scene_types:
            item["properties"]["scene_type"] = {"type": "string",
                                                "enum": list(request.scene_types)}
            item["required"].append("scene_type")
        return {"type": "object", "properties": {"pairs": {
            "type": "array", "items": item, "minItems": wanted, "maxItems": wanted}},
            "required": ["pairs"], "additionalProperties": False}

    def _messages(self, request: SelectionRequest, wanted: int, unique: bool
                  ) -> list[dict[str, Any]]:
        catalog = [{"id": a.id, "name": a.name, "tags": list(a.tags),
                    **({"width": a.width, "height": a.height} if a.width else {})}
                   for a in request.assets]
        lines = []
        if request.context:
            lines.append("Context: " + json.dumps(dict(request.context), ensure_ascii=False))
        if request.scene_types:
            lines.append(f"Choose exactly one pair for each of these {wanted} scene types, in "
                         "this order: " + "; ".join(request.scene_types) + ".")
            if request.scene_tags:
                lines.append("Ideal tags per scene type: " + json.dumps(
                    {k: list(v) for k, v in request.scene_tags.items()}, ensure_ascii=False))
        else:
            lines.append(f"Choose exactly {wanted} pairs, in the order they should play.")
        lines.append("Never use the same photo twice." if unique else
                     "Photos may appear in several pairs, but a pair never uses one photo "
                     "twice.")
        lines.append("Use only these photo ids:\n" + json.dumps(catalog, ensure_ascii=False))
        lines.append('Answer as {"pairs": [{"first_id", "last_id", '
                     + ('"scene_type", ' if request.scene_types else "")
                     + '"score" (0-1), "reasoning"}]}.')
        parts: list[dict[str, Any]] = [{"type": "text", "text": "\n\n".join(lines)}]
        parts.extend(self._image_parts(request.assets))
        return [{"role": "system", "content": SYSTEM_SELECT},
                {"role": "user", "content": parts}]

    def _image_parts(self, assets: Sequence[AssetSummary]) -> list[dict[str, Any]]:
        """Small images as data URIs so the model can see them (within a budget)."""
        if self._read_blob is None:
            return []
        parts: list[dict[str, Any]] = []
        for asset in assets:
            ref = asset.image
            if len(parts) >= 2 * self.max_images:
                break
            if ref is None or ref.content_type not in ("image/jpeg", "image/png") or \
                    ref.size > self.max_image_bytes:
                continue
            data = b"".join(self._read_blob(ref.blob_id))
            if len(data) > self.max_image_bytes:
                continue
            uri = f"data:{ref.content_type};base64,{base64.b64encode(data).decode('ascii')}"
            parts.append({"type": "text", "text": f"Photo {asset.id}:"})
            parts.append({"type": "image_url", "image_url": {"url": uri, "detail": "low"}})
        return parts


# --- storyboard ------------------------------------------------------------------------------

SYSTEM_STORYBOARD = (
    "You are an expert creative director writing storyboards for short marketing videos. Each "
    "scene is one shot of a few seconds. Answer only with JSON that matches the given schema.")
SHOT_TYPES = ["wide", "medium", "close-up", "product"]
TRANSITIONS = ["cut", "fade", "dissolve"]


@dataclass
class ChatStoryboardWriter:
    """Scenes written by an LLM; anything unusable falls back to the local templates."""

    client: ChatClient
    fallback: LocalStoryboardWriter = field(default_factory=LocalStoryboardWriter)
    attempts: int = 2
    temperature: float = 0.7

    def __post_init__(self) -> None:
        self.name = self.client.provider

    def write(self, request: StoryboardRequest) -> list[SceneDraft]:
        count = max(3, min(7, request.scene_count
                           or models.scene_count_for_duration(request.target_duration)))
        target = request.target_duration or 30.0
        schema = {"type": "object", "properties": {"scenes": {
            "type": "array", "minItems": count, "maxItems": count,
            "items": _scene_schema()}}, "required": ["scenes"], "additionalProperties": False}
        prompt = (f"Brief:\n{json.dumps(request.brief, ensure_ascii=False)}\n\n"
                  f"Write exactly {count} scenes for a {target:g}-second video.")
        messages = [{"role": "system", "content": SYSTEM_STORYBOARD},
                    {"role": "user", "content": prompt}]
        problem = ""
        for _ in range(self.attempts):
            try:
                answer, _result = self.client.complete_json(
                    messages, schema=schema, schema_name="storyboard",
                    temperature=self.temperature)
            except ProviderError as exc:
                problem = exc.message
                if not exc.retryable:
                    break
                continue
            scenes = answer.get("scenes") if isinstance(answer, dict) else None
            maybe = [_draft(s) for s in scenes or [] if isinstance(s, dict)]
            drafts = [d for d in maybe if d is not None]
            if len(drafts) >= 3:
                return _finish(drafts[:7], target, request.asset_ids, self.name)
            problem = "the answer had fewer than 3 usable scenes"
        logger.warning("storyboard via %s failed (%s); using templates", self.name, problem)
        return [replace(s, metadata={**s.metadata, "fallback_reason": problem})
                for s in self.fallback.write(replace(request, scene_count=count))]

    def rewrite_scene(self, request: StoryboardRequest, scene: SceneDraft, feedback: str
                      ) -> SceneDraft:
        prompt = (f"Brief:\n{json.dumps(request.brief, ensure_ascii=False)}\n\nScene "
                  f"{scene.scene_number} now reads:\n{scene.description}\n\nRewrite it. "
                  f"Feedback: {feedback or 'make it stronger'}")
        try:
            answer, _ = self.client.complete_json(
                [{"role": "system", "content": SYSTEM_STORYBOARD},
                 {"role": "user", "content": prompt}],
                schema=_scene_schema(), schema_name="scene", temperature=0.8)
            draft = _draft(answer) if isinstance(answer, dict) else None
        except ProviderError as exc:
            logger.warning("scene rewrite via %s failed: %s", self.name, exc.message)
            draft = None
        if draft is None:
            return self.fallback.rewrite_scene(request, scene, feedback)
        return replace(scene, description=draft.description, script=draft.script,
                       shot_type=draft.shot_type, transition=draft.transition,
                       metadata={**scene.metadata, "generator": self.name})


def _scene_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {
        "description": {"type": "string"}, "script": {"type": "string"},
        "shot_type": {"type": "string", "enum": SHOT_TYPES},
        "transition": {"type": "string", "enum": TRANSITIONS},
        "duration": {"type": "number"}},
        "required": ["description", "script", "shot_type", "transition", "duration"],
        "additionalProperties": False}


def _draft(item: dict[str, Any]) -> SceneDraft | None:
    description = " ".join(str(item.get("description") or "").split())
    if not description:
        return None
    try:
        duration = float(item.get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0.0
    shot = str(item["shot_type"]) if item.get("shot_type") in SHOT_TYPES else "medium"
    transition = str(item["transition"]) if item.get("transition") in TRANSITIONS else "cut"
    return SceneDraft(scene_number=0, duration=max(0.0, duration), description=description,
                      script=" ".join(str(item.get("script") or "").split()),
                      shot_type=shot, transition=transition)


def _finish(drafts: list[SceneDraft], target: float, asset_ids: Sequence[str],
            generator: str) -> list[SceneDraft]:
    """Renumber, scale durations to the target (0.1 s), assign assets round-robin."""
    total = sum(d.duration for d in drafts)
    if total <= 0:
        durations = spread(target, len(drafts))
    else:
        durations = [round(d.duration * target / total, 1) for d in drafts[:-1]]
        durations.append(round(target - sum(durations), 1))
    assets = list(asset_ids)
    return [replace(d, scene_number=i + 1, duration=durations[i],
                    assets=d.assets or ((assets[i % len(assets)],) if assets else ()),
                    metadata={**d.metadata, "generator": generator})
            for i, d in enumerate(drafts)]
