"""Job parameters as a value: rows of today's shape (version 1, the request body) load, and
version 2 round-trips."""

from __future__ import annotations

from typing import Any

import pytest

from actorvid.domain.creative import CreativeOptions, Transition
from actorvid.domain.parameters import AudioScene, JobParameters, Photo, RenderWish

_OPTIONS = CreativeOptions(aspect_ratio="9:16", transition=Transition("crossfade", 0.5))

# What jobs stored before version 2: the checked request body, plus the creative options.
PAIRS_V1: dict[str, Any] = {
    "campaignId": "c1", "numPairs": 3, "allowReuse": True, "clipDuration": 5,
    "videoModel": "hailuo", "aspectRatio": "9:16", "resolution": "1080p",
    "autoApprove": False, "generateAudio": True, "keepPreview": True, "preview": True,
    "creative_options": _OPTIONS.to_document()}
PROPERTY_V1: dict[str, Any] = {
    "campaignId": "c1", "propertyInfo": {"name": "Lodge", "location": "Alps"},
    "photos": [{"id": "p1", "url": "http://x/p1.png", "filename": "p1.png",
                "tags": ["pool"]}, {"id": "p2", "url": "http://x/p2.png"}],
    "autoApprove": True, "clipDuration": 6.0}
STANDARD_V1: dict[str, Any] = {
    "context": {"clientId": "k1"}, "adBasics": {"product": "Tea"},
    "creative": {"videoSpecs": {"duration": 20}}, "advanced": {"autoApprove": True,
                                                              "preview": False},
    "creative_options": CreativeOptions().to_document()}
AUDIO_V1: dict[str, Any] = {
    "scenes": [{"scene_number": 2, "prompt": "strings"},
               {"scene_number": 1, "prompt": "piano", "duration": 6}],
    "default_duration": 5, "model_id": "meta/musicgen"}


def test_version_1_rows_load_as_typed_values() -> None:
    pairs = JobParameters.from_document(PAIRS_V1, kind="image_pairs")
    assert pairs.render == RenderWish("hailuo", 5.0, "1080p", "9:16")
    assert (pairs.num_pairs, pairs.allow_reuse, pairs.generate_audio) == (3, True, True)
    assert (pairs.preview, pairs.keep_preview, pairs.auto_approve) == (True, True, False)
    assert pairs.creative == _OPTIONS and pairs.options_given and pairs.brief is None

    prop = JobParameters.from_document(PROPERTY_V1, kind="property_video")
    assert prop.photos == (Photo("p1", "http://x/p1.png", "p1.png", ("pool",)),
                           Photo("p2", "http://x/p2.png"))
    assert prop.property_info == {"name": "Lodge", "location": "Alps"}
    assert prop.auto_approve and not prop.options_given
    assert prop.writer_brief() == {"propertyInfo": {"name": "Lodge", "location": "Alps"}}

    standard = JobParameters.from_document(STANDARD_V1, kind="standard")
    assert standard.auto_approve and standard.preview is False
    assert standard.brief is not None and "creative_options" not in standard.brief
    assert standard.brief["adBasics"] == {"product": "Tea"}

    audio = JobParameters.from_document(AUDIO_V1, kind="audio")
    assert audio.audio_scenes == (AudioScene(2, "strings"), AudioScene(1, "piano", 6.0))
    assert (audio.default_duration, audio.music_model) == (5.0, "meta/musicgen")

    # A row from before the creative options keeps the ratio it asked for.
    old = JobParameters.from_document({"aspectRatio": "1:1"}, kind="image_pairs")
    assert old.creative.aspect_ratio == "1:1" and not old.options_given
    assert JobParameters.from_document(None, kind="standard") == JobParameters(brief={},
                                                                              options_given=False)


@pytest.mark.parametrize(("kind", "row"), [
    ("image_pairs", PAIRS_V1), ("property_video", PROPERTY_V1), ("standard", STANDARD_V1),
    ("audio", AUDIO_V1)])
def test_version_2_is_snake_case_and_round_trips(kind: str, row: dict[str, Any]) -> None:
    params = JobParameters.from_document(row, kind=kind)
    stored = params.to_document()
    assert stored["version"] == 2
    assert not any(any(c.isupper() for c in key) for key in stored)
    assert JobParameters.from_document(stored, kind=kind) == params
