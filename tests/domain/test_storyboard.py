"""The storyboard as a value: rows of today's shape (version 1, camelCase) load, version 2
round-trips, and the API renders either exactly as the storyboard was always shown."""

from __future__ import annotations

import copy
from typing import Any

from actorvid.api.job_views import storyboard_view
from actorvid.domain.storyboard import Adjustment, Scene, Selection, Storyboard

_CLIP: dict[str, Any] = {"field": "clipDuration", "requested": 9, "used": 10,
         "note": "Hailuo-02 makes clips of 6/10 seconds only, so 9 s became 10 s, the nearest "
                 "it allows."}

# What a property job stored before version 2 (made by the storyboard code of the time).
PROPERTY_V1: dict[str, Any] = {
    "scenes": [{
        "sceneNumber": 1, "sceneType": "Grand Arrival",
        "description": "First impression of the property from outside",
        "firstAssetId": "img-a", "lastAssetId": "img-b", "assets": ["img-a", "img-b"],
        "prompt": "Slow low-angle dolly forward toward the entrance.",
        "musicPrompt": "Cinematic ambient opening, 90 BPM", "duration": 10, "model": "hailuo",
        "resolution": "768p", "aspectRatio": "16:9", "provider": "replicate",
        "estimatedCost": 0.56, "adjustments": [_CLIP], "reasoning": "same room", "score": 0.9,
        "id": "scene-1"}],
    "totalDuration": 10, "estimatedCost": 0.56, "currency": "USD",
    "selection": {"provider": "xai", "notes": ["n1"], "cost": 0.01,
                  "photoAssets": {"p1": "img-a"}},
    "adjustments": [_CLIP]}

# A standard job's (text scene: no images, a writer, no selection).
STANDARD_V1: dict[str, Any] = {
    "scenes": [{
        "sceneNumber": 1, "sceneType": "The Hook", "description": "Opening",
        "firstAssetId": None, "lastAssetId": None, "assets": [], "prompt": "Opening",
        "basePrompt": "Opening", "musicPrompt": "Cinematic, 110 BPM", "duration": 4,
        "model": "veo3", "resolution": "720p", "aspectRatio": "9:16", "provider": "local",
        "estimatedCost": 0.0, "adjustments": [], "script": "", "shotType": "medium",
        "transition": "cut", "id": "scene-2"}],
    "totalDuration": 4, "estimatedCost": 0.0, "currency": "USD", "adjustments": [],
    "writer": "local"}

# An audio job's, and a legacy import's (a key this code does not know).
AUDIO_V1: dict[str, Any] = {
    "scenes": [{"sceneNumber": 1, "prompt": "calm piano", "duration": 4.0},
               {"sceneNumber": 2, "prompt": "strings", "duration": 6.0}],
    "totalDuration": 10.0, "provider": "local"}
LEGACY_V1: dict[str, Any] = {
    "scenes": [{"id": "old-1", "sceneNumber": 1, "duration": 5.0, "description": "Scene 1",
                "assets": ["a1"], "metadata": {"camera": "pan"}, "legacyNote": "kept"}],
    "totalDuration": 5.0, "currency": "USD", "source": "legacy"}


def test_a_version_1_row_loads_as_typed_values() -> None:
    board = Storyboard.from_document(copy.deepcopy(PROPERTY_V1))
    assert board is not None
    (scene,) = board.scenes
    assert (scene.id, scene.scene_number, scene.first_asset_id, scene.last_asset_id) == (
        "scene-1", 1, "img-a", "img-b")
    assert (scene.model, scene.duration, scene.aspect_ratio, scene.music_prompt) == (
        "hailuo", 10.0, "16:9", "Cinematic ambient opening, 90 BPM")
    assert scene.adjustments == (Adjustment("clipDuration", 9, 10, _CLIP["note"]),)
    assert board.selection == Selection(provider="xai", notes=("n1",), cost=0.01,
                                        photo_assets={"p1": "img-a"})
    assert (board.total_duration, board.estimated_cost, board.writer) == (10.0, 0.56, None)

    legacy = Storyboard.from_document(LEGACY_V1)
    assert legacy is not None
    assert legacy.extra == {"source": "legacy"}
    assert legacy.scenes[0].extra == {"legacyNote": "kept"}
    assert legacy.scenes[0].metadata == {"camera": "pan"} and not legacy.scenes[0].is_video
    assert Storyboard.from_document(None) is None


def test_every_shape_of_today_renders_on_the_wire_as_it_was_stored() -> None:
    for document in (PROPERTY_V1, STANDARD_V1, AUDIO_V1, LEGACY_V1):
        assert storyboard_view(Storyboard.from_document(document)) == document


def test_version_2_is_snake_case_and_round_trips() -> None:
    for document in (PROPERTY_V1, STANDARD_V1, AUDIO_V1, LEGACY_V1):
        board = Storyboard.from_document(document)
        assert board is not None
        stored = board.to_document()
        assert stored["version"] == 2
        assert "total_duration" in stored and "totalDuration" not in stored
        assert all("scene_number" in s and "sceneNumber" not in s for s in stored["scenes"])
        assert Storyboard.from_document(stored) == board
        assert storyboard_view(Storyboard.from_document(stored)) == document
    text = Storyboard.from_document(STANDARD_V1)
    assert text is not None
    # A video scene keeps its (absent) images; an audio scene has none to keep.
    assert text.to_document()["scenes"][0]["first_asset_id"] is None
    audio = Storyboard((Scene(1, 4.0, prompt="piano"),), 4.0).to_document()
    assert audio["scenes"] == [{"scene_number": 1, "duration": 4.0, "prompt": "piano"}]
