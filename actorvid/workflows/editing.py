"""What the API asks of the pure layer about a job's storyboard: edit it, reprice it, quote it.

The HTTP resources (``api/jobs.py``, ``api/scenes.py``) parse the request and load the job;
every decision about the storyboard itself is made here, as pure functions from a
:class:`~actorvid.domain.storyboard.Storyboard` to a new one: no Falcon, no SQL. The caller
stores the result. This is the one module of ``workflows/`` the API imports (``.importlinter``
states it).

An edited scene is repriced the way the storyboard priced it (``pairs_storyboard`` on the
scene's own pair and options), so the estimate the user approves stays the price of what
renders; the totals are summed again by :func:`~actorvid.workflows.storyboard.summarize`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from actorvid.domain.drafts import SceneDraft, SelectedPair
from actorvid.domain.parameters import RenderWish
from actorvid.domain.storyboard import Scene, Storyboard
from actorvid.errors import Conflict, NotFound
from actorvid.workflows import brief
from actorvid.workflows.storyboard import (
    RenderOptions,
    estimate,
    pairs_storyboard,
    render_options,
    summarize,
)

# --- quotes ---------------------------------------------------------------------------------


def quote(scenes: int, wish: RenderWish, provider: str) -> dict[str, Any]:
    """What ``scenes`` scenes cost rendered as ``wish`` asks (the dry-run's estimate)."""
    return estimate(scenes, render_options(wish, provider))


def brief_quote(brief_: Mapping[str, Any], provider: str) -> dict[str, Any]:
    """A standard job's estimate at creation, priced like the dry-run of the same brief."""
    scenes = brief.scene_count(brief_)
    return quote(scenes, brief.render_wish(brief_, scenes), provider)


def draft_storyboard(pairs: Sequence[SelectedPair], wish: RenderWish,
                     provider: str) -> Storyboard:
    """The storyboard a dry-run's draft preview shows: one scene per pair."""
    return pairs_storyboard(pairs, render_options(wish, provider))


# --- edits ----------------------------------------------------------------------------------

# What a scene update may change (``SCENE_UPDATE`` of the API, in the storyboard's names).
EDITABLE = ("description", "prompt", "script", "shot_type", "transition", "duration",
            "first_asset_id", "last_asset_id", "metadata")


def require_editable(status: str, verb: str) -> None:
    """Scenes change only while the storyboard awaits approval (after that they render)."""
    if status != "storyboard_ready":
        raise Conflict(f"Scenes can only be {verb} while the storyboard awaits approval")


def scenes_of(storyboard: Storyboard | None) -> list[Scene]:
    return list(storyboard.scenes) if storyboard else []


def find_scene(storyboard: Storyboard | None, scene_id: str) -> tuple[list[Scene], int]:
    """The storyboard's scenes (a new list) and the index of ``scene_id`` among them."""
    scenes = scenes_of(storyboard)
    for index, scene in enumerate(scenes):
        if scene.id == scene_id:
            return scenes, index
    raise NotFound("Scene not found")


def resummarize(storyboard: Storyboard | None, scenes: list[Scene]) -> Storyboard:
    """``storyboard`` with these scenes, numbered from 1 again, and its totals summed again
    (its other parts, such as the selection, kept)."""
    numbered = [replace(scene, scene_number=number)
                for number, scene in enumerate(scenes, start=1)]
    if storyboard is None:
        return summarize(numbered)
    fresh = summarize(numbered, selection=storyboard.selection, writer=storyboard.writer,
                      extra=storyboard.extra)
    return replace(fresh, provider=storyboard.provider)


def reprice(scene: Scene, duration: float | None) -> Scene:
    """Recompute duration and cost of an edited scene the way the storyboard did."""
    options = RenderOptions(scene.model or "veo3", duration or scene.duration,
                            scene.resolution or "", scene.aspect_ratio or "16:9",
                            scene.provider or "local")
    fresh = pairs_storyboard([SelectedPair(scene.first_asset_id or "",
                                           scene.last_asset_id or "")], options)
    first = fresh.scenes[0]
    return replace(scene, duration=first.duration, estimated_cost=first.estimated_cost,
                   adjustments=first.adjustments)


def edit_scene(storyboard: Storyboard | None, scene_id: str, changes: Mapping[str, Any]
               ) -> tuple[Storyboard, Scene]:
    """Apply a scene update (``changes`` by field name of :data:`EDITABLE`; absent or None
    ones are kept) and reprice.

    An explicit ``first_asset_id: None`` takes both images away: the scene then renders from
    its prompt alone. Returns the new storyboard and the edited scene (part of it).
    """
    scenes, index = find_scene(storyboard, scene_id)
    given = {k: v for k, v in changes.items()
             if k in EDITABLE and v is not None and k != "duration"}
    scene = replace(scenes[index], **given)
    if "first_asset_id" in changes and changes["first_asset_id"] is None:
        scene = replace(scene, first_asset_id=None, last_asset_id=None)
    scene = replace(scene, assets=tuple(a for a in (scene.first_asset_id, scene.last_asset_id)
                                        if a))
    scenes[index] = reprice(scene, changes.get("duration"))
    board = resummarize(storyboard, scenes)
    return board, board.scenes[index]


def delete_scene(storyboard: Storyboard | None, scene_id: str) -> Storyboard:
    """The storyboard without ``scene_id`` (never without any scene)."""
    scenes, index = find_scene(storyboard, scene_id)
    if len(scenes) == 1:
        raise Conflict("A storyboard needs at least one scene")
    del scenes[index]
    return resummarize(storyboard, scenes)


def scene_draft(storyboard: Storyboard | None, scene_id: str) -> SceneDraft:
    """What the storyboard writer is asked to rewrite: the scene as it was first written (its
    ``base_prompt`` once it was rewritten before), so new feedback replaces earlier feedback
    instead of piling up on it. Its description is the prompt that renders."""
    scenes, index = find_scene(storyboard, scene_id)
    scene = scenes[index]
    return SceneDraft(scene_number=scene.scene_number, duration=scene.duration,
                      description=scene.base_prompt or scene.prompt or scene.description or "",
                      script=scene.script or "", shot_type=scene.shot_type or "medium",
                      transition=scene.transition or "cut", assets=scene.assets or (),
                      metadata=dict(scene.metadata or {}))


def rewritten(storyboard: Storyboard | None, scene_id: str, draft: SceneDraft
              ) -> tuple[Storyboard, Scene]:
    """The storyboard with the writer's rewrite of ``scene_id`` (from :func:`scene_draft`):
    its description becomes the prompt (the first prompt is kept as ``base_prompt``).

    A written scene (a standard job's, which has a script) takes the writer's description,
    script, shot and transition too; a photo pair's scene keeps its own description, the
    purpose of its camera template. Images and duration stay, so the price does not change.
    """
    scenes, index = find_scene(storyboard, scene_id)
    scene = scenes[index]
    base = scene.base_prompt or scene.prompt or draft.description
    changed = replace(scene, base_prompt=base, prompt=draft.description,
                      metadata=draft.metadata or scene.metadata)
    if scene.script is not None:
        changed = replace(changed, description=draft.description, script=draft.script,
                          shot_type=draft.shot_type, transition=draft.transition)
    scenes[index] = changed
    board = resummarize(storyboard, scenes)
    return board, board.scenes[index]
