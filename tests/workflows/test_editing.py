"""Storyboard edits as pure functions: the stored board is never changed in place, an edited
scene is repriced like the storyboard priced it, and the totals follow."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from actorvid.domain.drafts import SelectedPair
from actorvid.domain.storyboard import Selection, Storyboard
from actorvid.errors import Conflict, NotFound
from actorvid.providers.base import StoryboardRequest
from actorvid.providers.local_writer import LocalStoryboardWriter
from actorvid.workflows import editing
from actorvid.workflows.storyboard import RenderOptions, pairs_storyboard


def board(n: int = 3) -> Storyboard:
    made = pairs_storyboard([SelectedPair(f"a{i}", f"b{i}") for i in range(n)],
                            RenderOptions("veo3", 8, provider="replicate"),
                            selection=Selection(provider="test"))
    return made.with_scenes(replace(scene, id=f"s{i}") for i, scene in enumerate(made.scenes))


def test_an_edit_reprices_the_scene_and_the_totals_without_touching_the_stored_board():
    stored = board()
    before = copy.deepcopy(stored)

    new, scene = editing.edit_scene(stored, "s1", {"duration": 4, "prompt": "closer",
                                                   "description": None})

    assert stored == before
    assert scene.prompt == "closer" and scene.description == before.scenes[1].description
    old_cost, new_cost = before.scenes[1].estimated_cost, scene.estimated_cost
    assert old_cost is not None and new_cost is not None
    assert scene.duration == 4 and new_cost < old_cost
    assert new.total_duration == 8 + 4 + 8
    assert new.estimated_cost == round(sum(s.estimated_cost or 0.0 for s in new.scenes), 4)
    assert new.selection == Selection(provider="test")


def test_a_null_first_image_takes_both_images_away():
    _, scene = editing.edit_scene(board(), "s0", {"first_asset_id": None})
    assert (scene.first_asset_id, scene.last_asset_id, scene.assets) == (None, None, ())


def test_delete_renumbers_and_keeps_one_scene_at_least():
    new = editing.delete_scene(board(), "s0")
    assert [(s.id, s.scene_number) for s in new.scenes] == [("s1", 1), ("s2", 2)]
    with pytest.raises(Conflict):
        editing.delete_scene(board(1), "s0")
    with pytest.raises(NotFound):
        editing.delete_scene(board(), "nope")


def test_a_rewrite_of_the_first_prompt_replaces_earlier_feedback():
    writer = LocalStoryboardWriter()
    request = StoryboardRequest(brief={}, target_duration=8, scene_count=1)
    first = editing.scene_draft(board(), "s0")
    once_board, once = editing.rewritten(board(), "s0",
                                         writer.rewrite_scene(request, first, "slower"))
    again = editing.scene_draft(once_board, "s0")
    _, twice = editing.rewritten(once_board, "s0", writer.rewrite_scene(request, again, "warmer"))
    assert first.description == board().scenes[0].prompt == again.description
    assert once.prompt is not None and once.prompt.endswith(" (slower)")
    assert twice.prompt == f"{once.base_prompt} (warmer)"
    # A photo pair's scene keeps its template's purpose, its images and its price.
    kept = board().scenes[0]
    assert (twice.description, twice.first_asset_id, twice.duration, twice.estimated_cost) == (
        kept.description, kept.first_asset_id, kept.duration, kept.estimated_cost)


def test_only_a_storyboard_awaiting_approval_is_edited():
    editing.require_editable("storyboard_ready", "changed")
    with pytest.raises(Conflict, match="can only be changed"):
        editing.require_editable("video_processing", "changed")
