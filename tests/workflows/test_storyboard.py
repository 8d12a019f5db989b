"""Pure storyboard logic: valid durations per model, costs, scene types carried through."""

from __future__ import annotations

import pytest

from actorvid.domain.drafts import SceneDraft, SelectedPair
from actorvid.workflows.brand import first_brand_color
from actorvid.workflows.scenes import PAIR_TEMPLATES, PROPERTY_SCENE_NAMES
from actorvid.workflows.storyboard import (
    RenderOptions,
    estimate,
    pairs_storyboard,
    standard_storyboard,
)


def pairs(n):
    return [SelectedPair(f"a{i}", f"b{i}", reasoning=f"r{i}") for i in range(n)]


@pytest.mark.parametrize("model,wish,expected", [
    ("veo3", 5, 6), ("veo3", 3, 4), ("veo3", 30, 8), ("veo3", None, 8),
    ("hailuo", 5, 6), ("hailuo", 9, 10), ("hailuo", None, 6),
])
def test_durations_are_valid_for_the_model(model, wish, expected):
    board = pairs_storyboard(pairs(2), RenderOptions(model, wish, provider="replicate"))
    assert [s.duration for s in board.scenes] == [expected, expected]
    assert board.total_duration == 2 * expected


def test_hailuo_ten_seconds_moves_to_768p():
    board = pairs_storyboard(pairs(1), RenderOptions("hailuo", 10, "1080p", provider="replicate"))
    assert board.scenes[0].resolution == "768p"


def test_cost_is_per_scene_and_total_and_zero_locally():
    paid = pairs_storyboard(pairs(3), RenderOptions("veo3", 6, provider="replicate"))
    costs = [s.estimated_cost for s in paid.scenes]
    assert all(c is not None and c > 0 for c in costs)
    assert paid.estimated_cost == pytest.approx(sum(c or 0.0 for c in costs))
    free = pairs_storyboard(pairs(3), RenderOptions("veo3", 6, provider="local"))
    assert free.estimated_cost == 0


def test_templates_cycle_over_more_than_seven_pairs():
    board = pairs_storyboard(pairs(9), RenderOptions())
    names = [s.scene_type for s in board.scenes]
    assert names[:7] == [t.name for t in PAIR_TEMPLATES]
    assert names[7:] == names[:2]
    assert [s.scene_number for s in board.scenes] == list(range(1, 10))


def test_property_scene_type_chosen_is_the_prompt_rendered():
    chosen = [SelectedPair(f"a{i}", f"b{i}", scene_type=name)
              for i, name in enumerate(reversed(PROPERTY_SCENE_NAMES))]
    board = pairs_storyboard(chosen, RenderOptions(), property_video=True)
    for pair, scene in zip(chosen, board.scenes, strict=True):
        assert scene.scene_type == pair.scene_type
        assert scene.first_asset_id == pair.first_id


def test_standard_scenes_use_their_assets_round_robin():
    drafts = [SceneDraft(i, 7.5, f"Scene {i}") for i in range(1, 4)]
    board = standard_storyboard(drafts, RenderOptions("veo3"), ["x", "y"])
    assert [s.first_asset_id for s in board.scenes] == ["x", "y", "x"]
    assert all(s.duration == 8 for s in board.scenes)


def test_estimate():
    est = estimate(7, RenderOptions("veo3", 6, provider="replicate"))
    assert est["totalDuration"] == 42
    assert est["estimatedCost"] == pytest.approx(7 * est["perScene"])


def test_a_brief_without_images_makes_text_scenes():
    drafts = [SceneDraft(i, 4, f"Scene {i}") for i in range(1, 4)]
    board = standard_storyboard(drafts, RenderOptions("veo3"), [])
    assert all(s.first_asset_id is None and s.last_asset_id is None and s.assets == ()
               for s in board.scenes)
    assert [s.prompt for s in board.scenes] == ["Scene 1", "Scene 2", "Scene 3"]


@pytest.mark.parametrize(("guidelines", "expected"), [
    ({"colors": ["#C0392B"]}, "c0392b"), ({"colors": ["red", "#0f0"]}, "00ff00"),
    ({"colors": ["#12345", "#fff';x"]}, ""), ({"colors": "#fff"}, ""), (None, "")])
def test_brand_colour_is_a_checked_hex_value(guidelines, expected):
    assert first_brand_color(guidelines) == expected


def test_every_changed_value_is_shown_requested_vs_used() -> None:
    options = RenderOptions(model="hailuo", clip_duration=9, resolution="1080p",
                            aspect_ratio="4:5", provider="replicate")
    board = pairs_storyboard([SelectedPair("a", "b"), SelectedPair("c", "d")], options)
    assert board.adjustments is not None
    changes = {c.field: (c.requested, c.used) for c in board.adjustments}
    assert changes == {"clipDuration": (9, 10), "resolution": ("1080p", "768p"),
                       "aspectRatio": ("4:5", "9:16")}
    assert all(c.note for c in board.adjustments)
    assert all(s.adjustments == board.adjustments for s in board.scenes)


def test_nothing_changed_means_no_adjustments() -> None:
    board = pairs_storyboard([SelectedPair("a", "b")],
                             RenderOptions(model="veo3", clip_duration=6, resolution="720p"))
    assert board.adjustments == () and board.scenes[0].adjustments == ()
