"""Every duration/resolution/aspect wish maps to inputs the model accepts."""

from __future__ import annotations

import itertools

import pytest

from actorvid.domain import models
from actorvid.providers.replicate import ReplicateClient
from tests.fakes.replicate import REGISTRY, FakeReplicate, cross_field_problem, validate_input

DURATIONS = [None, 0.5, 1, 3, 4, 4.9, 5, 5.1, 6, 7, 7.5, 8, 9, 10, 12, 30]
RESOLUTIONS = ["", "240p", "480p", "512p", "720p", "768p", "1080p", "2160p", "bogus"]
ASPECTS = ["16:9", "9:16", "1:1", "4:5", "21:9", "nonsense"]
URI = "data:image/png;base64,iVBORw0KGgo="


def _video_input(model: str, duration, resolution: str, aspect: str,  # type: ignore[no-untyped-def]
                 image: str | None = URI) -> dict:
    spec = models.render_spec(model, duration, resolution, aspect)
    if model == "veo3":
        return models.veo_input(spec, prompt="p", image=image, last_frame=image)
    return models.hailuo_input(spec, prompt="p", first_frame_image=image,
                               last_frame_image=image)


@pytest.mark.parametrize("image", [URI, None], ids=["frames", "text-only"])
@pytest.mark.parametrize("model", ["veo3", "hailuo"])
def test_every_wish_becomes_a_valid_input(model: str, image: str | None) -> None:
    name = models.REPLICATE_MODELS[model]
    for duration, resolution, aspect in itertools.product(DURATIONS, RESOLUTIONS, ASPECTS):
        data = _video_input(model, duration, resolution, aspect, image)
        assert validate_input(REGISTRY[name], data) == [], (duration, resolution, aspect)
        assert cross_field_problem(name, data) is None, (duration, resolution, aspect)


def test_text_to_video_inputs_carry_no_frame_fields() -> None:
    veo = models.veo_input(models.render_spec("veo3", 6), prompt="p", image=None,
                           last_frame=None)
    hailuo = models.hailuo_input(models.render_spec("hailuo", 6), prompt="p",
                                 first_frame_image=None, last_frame_image=None)
    assert not {"image", "last_frame"} & set(veo)
    assert not {"first_frame_image", "last_frame_image"} & set(hailuo)
    # An end frame alone is refused by the models (it interpolates from a first frame).
    assert cross_field_problem("google/veo-3.1", {**veo, "last_frame": URI}) is not None


@pytest.mark.parametrize(("model", "duration", "expected"), [
    ("veo3", 5, 6), ("veo3", 4.9, 4), ("veo3", 7, 8), ("veo3", 30, 8), ("veo3", 1, 4),
    ("hailuo", 8, 10), ("hailuo", 7.9, 6), ("hailuo", 4, 6), ("hailuo", 12, 10)])
def test_nearest_duration(model: str, duration: float, expected: int) -> None:
    assert models.render_spec(model, duration).duration == expected


def test_hailuo_ten_seconds_moves_to_768p() -> None:
    spec = models.render_spec("hailuo", 10, "1080p")
    assert (spec.duration, spec.resolution) == (10, "768p")
    assert models.render_spec("hailuo", 6, "1080p").resolution == "1080p"


def test_music_inputs_are_valid_and_fit_thirty_seconds() -> None:
    for duration, previous in itertools.product([0.2, 1, 4, 7.6, 29, 30, 45], [0, 1, 3.7, 28]):
        data = models.musicgen_input(prompt="p", duration=duration,
                                     input_audio=URI if previous else None,
                                     previous_seconds=previous)
        assert validate_input(REGISTRY["meta/musicgen"], data) == []
        window = data.get("continuation_end", 0) - data.get("continuation_start", 0)
        assert data["duration"] + window <= 30
        assert all(isinstance(data[k], int) for k in ("duration",
                                                      *(("continuation_start",
                                                         "continuation_end") if previous
                                                        else ())))


def test_frame_sizes() -> None:
    assert models.frame_size("720p", "16:9") == (1280, 720)
    assert models.frame_size("720p", "9:16") == (720, 1280)
    assert models.frame_size("1080p", "16:9") == (1920, 1080)
    assert all(v % 2 == 0 for v in models.frame_size("768p", "16:9"))


def test_prices_and_scene_counts() -> None:
    assert models.render_cost("veo3", 8, "1080p") == pytest.approx(1.6)
    assert models.render_cost("hailuo", 10, "768p") == pytest.approx(0.56)
    assert models.music_cost(10, predict_time=20) == pytest.approx(0.028)
    assert models.llm_cost("grok-4-1-fast-non-reasoning", 1_000_000, 1_000_000) == \
        pytest.approx(0.70)
    assert [models.scene_count_for_duration(d) for d in (15, 30, 45, 60, 61, None)] == \
        [3, 4, 5, 6, 7, 4]


@pytest.mark.parametrize("model", ["veo3", "hailuo"])
def test_the_fake_accepts_every_valid_combination_over_http(model: str,
                                                            fake_replicate: FakeReplicate
                                                            ) -> None:
    fake_replicate.set_timing(models.REPLICATE_MODELS[model], queue=1000, run=1000)
    client = ReplicateClient(fake_replicate.api_url, fake_replicate.token)
    durations = models.VEO_DURATIONS if model == "veo3" else models.HAILUO_DURATIONS
    resolutions = models.VEO_RESOLUTIONS if model == "veo3" else models.HAILUO_RESOLUTIONS
    count = 0
    for duration, resolution, aspect in itertools.product(durations, resolutions,
                                                          models.VEO_ASPECTS):
        data = _video_input(model, duration, resolution, aspect)
        client.create(model=models.REPLICATE_MODELS[model], input=data, tag=f"{count}")
        count += 1
    assert fake_replicate.journal.creates == count
