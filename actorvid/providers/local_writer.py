"""The offline storyboard writer: scenes from templates over the brief, no keys, no network.

What the LLM writer falls back to and what runs without keys; :meth:`LocalStoryboardWriter.
rewrite_scene` is how a scene is regenerated offline.
"""

from __future__ import annotations

from dataclasses import replace

from actorvid.domain import models
from actorvid.domain.drafts import SceneDraft
from actorvid.providers.base import (
    StoryboardRequest,
)

_SHOTS = ("wide", "medium", "close-up", "product", "medium", "wide", "wide")
_BEATS = (
    ("Opening establishing shot", "Introduce {product} with a striking first image."),
    ("Context", "Show where {product} fits in the life of {audience}."),
    ("Feature focus", "Highlight what makes {product} stand out: {message}."),
    ("Detail", "A close look at the craft and quality of {product}."),
    ("Lifestyle", "{audience} enjoying {product}."),
    ("Proof", "Why it matters: {message}."),
    ("Closing shot", "End on {product} and the call to action: {cta}."),
)


def _brief_text(brief: dict[str, object], *keys: str, default: str) -> str:
    """First non-empty string among nested ``keys`` paths like ``"adBasics.product"``."""
    for key in keys:
        value: object = brief
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return default


class LocalStoryboardWriter:
    """Template scenes from the brief: 3–7 by target duration, durations summing to it."""

    name = "local"

    def write(self, request: StoryboardRequest) -> list[SceneDraft]:
        count = request.scene_count or models.scene_count_for_duration(request.target_duration)
        count = max(3, min(7, count))
        target = request.target_duration or 30.0
        fields = self._fields(request.brief)
        # Opening, closing and as many middle beats as fit, in story order.
        beats = [_BEATS[0], *_BEATS[1:1 + count - 2], _BEATS[-1]]
        durations = spread(target, count)
        assets = list(request.asset_ids)
        scenes = []
        for i, ((title, line), duration) in enumerate(zip(beats, durations, strict=True)):
            scenes.append(SceneDraft(
                scene_number=i + 1, duration=duration,
                description=f"{title}: {line.format(**fields)} Style: {fields['style']}.",
                script=line.format(**fields) if i in (0, count - 1) else "",
                shot_type=_SHOTS[i % len(_SHOTS)],
                transition="fade" if i == 0 else "cut",
                assets=(assets[i % len(assets)],) if assets else (),
                metadata={"generator": "local-template"}))
        return scenes

    def rewrite_scene(self, request: StoryboardRequest, scene: SceneDraft, feedback: str
                      ) -> SceneDraft:
        extra = " ".join(feedback.split())
        description = scene.description if not extra else f"{scene.description} ({extra})"
        return replace(scene, description=description,
                       metadata={**scene.metadata, "feedback": extra})

    @staticmethod
    def _fields(brief: dict[str, object]) -> dict[str, str]:
        return {
            "product": _brief_text(brief, "adBasics.product", "product", "context.product",
                                   default="the product"),
            "audience": _brief_text(brief, "adBasics.targetAudience", "targetAudience",
                                    "context.targetAudience", default="the audience"),
            "message": _brief_text(brief, "adBasics.keyMessage", "keyMessage",
                                   "context.keyMessage", default="its quality"),
            "cta": _brief_text(brief, "adBasics.callToAction", "callToAction",
                               default="discover more"),
            "style": _brief_text(brief, "creative.direction.style", "creative.style", "style",
                                 default="cinematic, natural light"),
        }


def spread(total: float, count: int) -> list[float]:
    """``count`` durations to 0.1 s summing exactly to ``total`` (the last absorbs rounding)."""
    base = round(total / count, 1)
    durations = [base] * (count - 1)
    durations.append(round(total - sum(durations), 1))
    return durations
