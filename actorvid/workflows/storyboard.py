"""Storyboards: pure functions from a selection (or a brief) to the scenes that will render.

A storyboard (:class:`~actorvid.domain.storyboard.Storyboard`) is stored as ``jobs.storyboard``
and shown by ``GET /jobs/{id}``; every scene carries what will be sent (prompt, duration valid
for the model, resolution, aspect ratio) and what it will cost, so the estimate the user
approves is the price of what renders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from actorvid.domain.drafts import SceneDraft, SelectedPair
from actorvid.domain.models import (
    HAILUO_DURATIONS,
    VEO_DURATIONS,
    RenderSpec,
    normalize_aspect,
    render_cost,
    render_spec,
)
from actorvid.domain.parameters import RenderWish
from actorvid.domain.storyboard import Adjustment, Scene, Selection, Storyboard
from actorvid.workflows.scenes import PROPERTY_SCENES, SceneType, pair_template, property_scene


@dataclass(frozen=True)
class RenderOptions:
    """How the job's clips are made: model, wished clip length, size, and who renders."""

    model: str = "veo3"  # "veo3" | "hailuo"
    clip_duration: float | None = None
    resolution: str = ""
    aspect_ratio: str = "16:9"
    provider: str = "local"  # "replicate" | "local"

    @property
    def paid(self) -> bool:
        return self.provider != "local"


def render_options(wish: RenderWish, provider: str) -> RenderOptions:
    """A request's render wish as the options the storyboard prices with, rendered by
    ``provider`` (the API's quotes and the pipelines' storyboards both use it)."""
    return RenderOptions(model=wish.model or "veo3", clip_duration=wish.clip_duration,
                         resolution=wish.resolution or "", aspect_ratio=wish.aspect_ratio
                         or "16:9", provider=provider)


_MODEL_NAMES = {"veo3": ("Veo 3.1", VEO_DURATIONS), "hailuo": ("Hailuo-02", HAILUO_DURATIONS)}


def _seconds(value: float) -> str:
    return f"{value:g}"


def adjustments(options: RenderOptions, spec: RenderSpec) -> list[dict[str, Any]]:
    """Every value of the request the model cannot take as is: requested vs used, and why.

    Nothing is changed silently: these go into the storyboard and the dry-run's answer.
    """
    name, allowed = _MODEL_NAMES.get(spec.model, (spec.model, ()))
    found: list[dict[str, Any]] = []
    wished = options.clip_duration
    if wished is not None and abs(float(wished) - spec.duration) > 1e-9:
        choices = "/".join(str(a) for a in allowed)
        found.append({"field": "clipDuration", "requested": wished, "used": spec.duration,
                      "note": f"{name} makes clips of {choices} seconds only, so "
                              f"{_seconds(float(wished))} s became {spec.duration} s, the "
                              "nearest it allows."})
    if options.resolution and options.resolution.strip().lower() != spec.resolution:
        why = ("10-second clips exist only at 768p" if spec.model == "hailuo"
               and spec.duration == 10 else f"it has no {options.resolution}")
        found.append({"field": "resolution", "requested": options.resolution,
                      "used": spec.resolution,
                      "note": f"{name} renders {spec.resolution} here: {why}."})
    if options.aspect_ratio == "1:1":
        # A square video: the local renderer draws it natively; a model renders 16:9 (Veo)
        # or from a square first frame (Hailuo), and the finish crops to the square.
        if options.paid and spec.model == "veo3":
            found.append({"field": "aspectRatio", "requested": "1:1", "used": "16:9",
                          "note": f"{name} makes 16:9 or 9:16 clips; they are rendered at "
                                  "16:9 and cropped to a square at the centre."})
    elif options.aspect_ratio and normalize_aspect(options.aspect_ratio) != options.aspect_ratio:
        found.append({"field": "aspectRatio", "requested": options.aspect_ratio,
                      "used": spec.aspect_ratio,
                      "note": f"Clips are made at 16:9 or 9:16; {options.aspect_ratio} became "
                              f"{spec.aspect_ratio}."})
    return found


def _scene(number: int, template: SceneType, first: str | None, last: str | None,
           options: RenderOptions, *, prompt: str | None = None, reasoning: str = "",
           score: float | None = None, description: str = "") -> Scene:
    spec = render_spec(options.model, options.clip_duration, options.resolution,
                       options.aspect_ratio)
    cost = render_cost(spec.model, spec.duration, spec.resolution) if options.paid else 0.0
    return Scene(
        scene_number=number,
        scene_type=template.name,
        description=description or template.purpose,
        first_asset_id=first,
        last_asset_id=last,
        assets=tuple(a for a in (first, last) if a),
        prompt=prompt or template.prompt,
        music_prompt=template.music_prompt,
        duration=spec.duration,
        model=spec.model,
        resolution=spec.resolution,
        aspect_ratio=spec.aspect_ratio,
        provider=options.provider,
        estimated_cost=cost,
        adjustments=tuple(Adjustment.from_document(a) for a in adjustments(options, spec)),
        reasoning=reasoning or None,
        score=score,
    )


def summarize(scenes: Sequence[Scene], *, selection: Selection | None = None,
              writer: str | None = None, extra: Mapping[str, Any] | None = None
              ) -> Storyboard:
    """The storyboard: scenes plus totals, and every adjustment once at the top."""
    unique: list[Adjustment] = []
    for scene in scenes:
        for change in scene.adjustments or ():
            if change not in unique:
                unique.append(change)
    return Storyboard(
        scenes=tuple(scenes),
        total_duration=sum(s.duration for s in scenes),
        estimated_cost=round(sum(s.estimated_cost or 0.0 for s in scenes), 4),
        currency="USD",
        selection=selection,
        writer=writer,
        adjustments=tuple(unique),
        extra=extra or {},
    )


def pairs_storyboard(pairs: Sequence[SelectedPair], options: RenderOptions, *,
                     property_video: bool = False, selection: Selection | None = None
                     ) -> Storyboard:
    """One scene per pair. Property videos use each pair's own scene type (its prompt renders);
    image-pair jobs cycle the seven camera templates."""
    scenes = []
    for number, pair in enumerate(pairs, start=1):
        if property_video:
            try:
                template = property_scene(pair.scene_type)
            except KeyError:
                template = PROPERTY_SCENES[(number - 1) % len(PROPERTY_SCENES)]
        else:
            template = pair_template(number)
        scenes.append(_scene(number, template, pair.first_id, pair.last_id, options,
                             reasoning=pair.reasoning, score=pair.score))
    return summarize(scenes, selection=selection or Selection())


def standard_storyboard(drafts: Sequence[SceneDraft], options: RenderOptions,
                        asset_ids: Sequence[str]) -> Storyboard:
    """Scenes written from a brief; each renders from its asset (first = last if only one)."""
    scenes = []
    for number, draft in enumerate(drafts, start=1):
        assets = list(draft.assets) or ([asset_ids[(number - 1) % len(asset_ids)]]
                                        if asset_ids else [])
        first = assets[0] if assets else None
        last = assets[1] if len(assets) > 1 else first
        wished = RenderOptions(options.model, draft.duration or options.clip_duration,
                               options.resolution, options.aspect_ratio, options.provider)
        scene = _scene(number, pair_template(number), first, last, wished,
                       prompt=draft.description, description=draft.description)
        scenes.append(replace(scene, script=draft.script, shot_type=draft.shot_type,
                              transition=draft.transition))
    return summarize(scenes)


def estimate(num_scenes: int, options: RenderOptions) -> dict[str, Any]:
    """A cost estimate before anything is selected (``POST /jobs/dry-run``)."""
    spec = render_spec(options.model, options.clip_duration, options.resolution,
                       options.aspect_ratio)
    per_scene = render_cost(spec.model, spec.duration, spec.resolution) if options.paid else 0.0
    return {
        "scenes": num_scenes,
        "clipDuration": spec.duration,
        "totalDuration": spec.duration * num_scenes,
        "model": spec.model,
        "resolution": spec.resolution,
        "perScene": per_scene,
        "estimatedCost": round(per_scene * num_scenes, 4),
        "currency": "USD",
        "adjustments": adjustments(options, spec),
    }
