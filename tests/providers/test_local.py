"""Local providers: real ffmpeg output on real images made with ffmpeg."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actorvid.errors import ProviderError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.providers.base import (
    AspectRatio,
    AssetSummary,
    MusicInput,
    RenderInput,
    SelectionRequest,
    StoryboardRequest,
)
from actorvid.providers.local import LocalMusic, LocalRenderer
from actorvid.providers.local_selector import LocalSelector
from actorvid.providers.local_writer import LocalStoryboardWriter
from tests.fakes.media import make_image
from tests.providers.conftest import Blobs, wait_terminal


@pytest.fixture
def renderer(blobs: Blobs, tmp_path: Path) -> Iterator[LocalRenderer]:
    service = LocalRenderer(blobs.read, workers=2, workdir=tmp_path)
    yield service
    service.close()


@pytest.fixture
def images(blobs: Blobs, tmp_path: Path):
    first = make_image(tmp_path / "first.png", width=400, height=300)
    last = make_image(tmp_path / "last.jpg", width=300, height=500, pattern=False,
                      color="blue")
    return (blobs.add_file(first, "image/png", "a1"), blobs.add_file(last, "image/jpeg", "a2"))


@pytest.mark.parametrize(("aspect", "size", "duration"), [
    ("16:9", (426, 240), 2), ("9:16", (240, 426), 3)])
def test_renderer_makes_the_clip_asked_for(renderer: LocalRenderer, images, tmp_path: Path,
                                           aspect: AspectRatio, size: tuple[int, int],
                                           duration: int) -> None:
    first, last = images
    created = renderer.create(RenderInput(model="veo3", first_frame=first, last_frame=last,
                                          prompt="p", duration=duration, aspect_ratio=aspect,
                                          resolution="240p"), tag="job-1/scene-1")
    assert created.status in ("starting", "processing")  # returned at once, work queued
    final, _ = wait_terminal(renderer.get, created.id, timeout=60)
    assert final.status == "succeeded", final.error
    out = tmp_path / "clip.mp4"
    with out.open("wb") as dest:
        assert renderer.download(final, dest) == out.stat().st_size
    info = FFmpeg.locate().probe(out)
    assert (info.width, info.height) == size
    assert info.duration == pytest.approx(duration, abs=0.1)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert renderer.find("job-1/scene-1").id == created.id  # type: ignore[union-attr]
    assert renderer.cost(RenderInput("veo3", first, last, "p", duration), final) == 0


def test_renderer_makes_a_clip_from_text_alone(blobs: Blobs, tmp_path: Path) -> None:
    service = LocalRenderer(blobs.read, workers=1, workdir=tmp_path)
    try:
        created = service.create(RenderInput(
            "hailuo", None, None, "Opening shot: 100% sun, it's 'warm' \\ {x}", 3,
            aspect_ratio="9:16", resolution="240p", background="c0392b"), tag="text-1")
        final, _ = wait_terminal(service.get, created.id, timeout=60)
        assert final.status == "succeeded", final.error
        out = tmp_path / "text.mp4"
        with out.open("wb") as dest:
            service.download(final, dest)
    finally:
        service.close()
    info = FFmpeg.locate().probe(out)
    assert (info.width, info.height, info.video_codec) == (240, 426, "h264")
    assert info.duration == pytest.approx(3, abs=0.1)


def test_cancel_kills_a_running_render(renderer: LocalRenderer, images) -> None:
    first, last = images
    created = renderer.create(RenderInput(model="veo3", first_frame=first, last_frame=last,
                                          prompt="p", duration=60, resolution="1080p"),
                              tag="long")
    deadline = time.monotonic() + 30
    while renderer.get(created.id).status == "starting":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    renderer.cancel(created.id)
    final, _ = wait_terminal(renderer.get, created.id, timeout=10)
    assert final.status == "canceled"
    assert time.monotonic() - started < 5  # killed, not rendered to the end
    with pytest.raises(ProviderError):
        renderer.download(final, open("/dev/null", "wb"))  # noqa: SIM115


def test_cancel_of_a_queued_render_never_runs_it(blobs: Blobs, images, tmp_path: Path) -> None:
    first, last = images
    service = LocalRenderer(blobs.read, workers=1, workdir=tmp_path)
    try:
        busy = service.create(RenderInput("veo3", first, last, "p", 60, resolution="1080p"),
                              tag="busy")
        queued = service.create(RenderInput("veo3", first, last, "p", 2, resolution="240p"),
                                tag="queued")
        assert service.cancel(queued.id).status == "canceled"
        service.cancel(busy.id)
        assert wait_terminal(service.get, busy.id)[0].status == "canceled"
        assert service.get(queued.id).status == "canceled"
    finally:
        service.close()


def test_unreadable_image_fails_the_prediction(renderer: LocalRenderer, blobs: Blobs) -> None:
    bad = blobs.add(b"not an image at all", "image/png")
    created = renderer.create(RenderInput("veo3", bad, bad, "p", 2, resolution="240p"),
                              tag="bad")
    final, _ = wait_terminal(renderer.get, created.id, timeout=30)
    assert final.status == "failed" and final.error


def test_music_has_the_requested_duration_and_a_style_per_scene(blobs: Blobs,
                                                                tmp_path: Path) -> None:
    music = LocalMusic(blobs.read, workdir=tmp_path)
    try:
        digests = []
        for scene in ("Grand Arrival", "Culinary Excellence"):
            created = music.create(MusicInput(prompt="x", duration=3, scene_type=scene),
                                   tag=scene)
            final, _ = wait_terminal(music.get, created.id, timeout=30)
            assert final.status == "succeeded", final.error
            out = tmp_path / f"{scene}.mp3"
            with out.open("wb") as dest:
                music.download(final, dest)
            assert FFmpeg.locate().probe(out).duration == pytest.approx(3, abs=0.1)
            digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        assert digests[0] != digests[1]
    finally:
        music.close()


def _assets() -> list[AssetSummary]:
    return [
        AssetSummary("k1", "kitchen-1.jpg", ("Kitchen 1",)),
        AssetSummary("b1", "bed.jpg", ("Bedroom 1 1",)),
        AssetSummary("x1", "front.jpg", ("exterior", "facade")),
        AssetSummary("b2", "bed2.jpg", ("Bedroom 1 2",)),
        AssetSummary("k2", "kitchen-2.jpg", ("Kitchen 2",)),
        AssetSummary("p1", "pool.jpg", ("pool", "spa")),
        AssetSummary("x2", "entrance.jpg", ("entrance",)),
        AssetSummary("v1", "view.jpg", ("sunset", "view")),
        AssetSummary("d1", "dining.jpg", ("dining", "restaurant")),
        AssetSummary("p2", "spa.jpg", ("spa",)),
    ]


def test_selector_pairs_rooms_deterministically() -> None:
    request = SelectionRequest(assets=_assets(), num_pairs=3)
    result = LocalSelector().select(request)
    assert result.provider == "local"
    assert [(p.first_id, p.last_id) for p in result.pairs][:2] == [("k1", "k2"), ("b1", "b2")]
    assert len(result.pairs) == 3 and all(p.first_id != p.last_id for p in result.pairs)
    assert LocalSelector().select(request) == result


def test_selector_never_reuses_a_photo_unless_allowed() -> None:
    honest = LocalSelector().select(SelectionRequest(assets=_assets()[:5], num_pairs=4))
    ids = [i for p in honest.pairs for i in (p.first_id, p.last_id)]
    assert len(honest.pairs) == 2 and len(ids) == len(set(ids))  # 5 photos: 2 pairs, no more


def test_selector_reuses_images_when_allowed_and_more_pairs_are_asked() -> None:
    result = LocalSelector().select(SelectionRequest(assets=_assets()[:3], num_pairs=4,
                                                     allow_reuse=True))
    pairs = [(p.first_id, p.last_id) for p in result.pairs]
    assert len(pairs) == 4 and len(set(pairs)) == 4
    assert all(a != b for a, b in pairs)


def test_selector_scene_mode_one_pair_per_scene_no_photo_twice() -> None:
    scenes = ("Grand Arrival", "Culinary Excellence", "Wellness & Recreation")
    result = LocalSelector().select(SelectionRequest(assets=_assets(), num_pairs=3,
                                                     scene_types=scenes))
    assert [p.scene_type for p in result.pairs] == list(scenes)
    ids = [i for p in result.pairs for i in (p.first_id, p.last_id)]
    assert len(ids) == len(set(ids))
    assert set(ids[:2]) == {"x1", "x2"}  # exterior + entrance for the arrival
    assert set(ids[4:6]) == {"p1", "p2"}


@pytest.mark.parametrize(("target", "count"), [(10, 3), (15, 3), (30, 4), (45, 5), (60, 6),
                                               (61, 7), (None, 4)])
def test_storyboard_scene_count_and_durations(target: float | None, count: int) -> None:
    brief: dict[str, object] = {"adBasics": {"product": "the Aurora lamp",
                                             "keyMessage": "light that follows you"}}
    scenes = LocalStoryboardWriter().write(StoryboardRequest(
        brief=brief, target_duration=target or 0, scene_count=0, asset_ids=("a", "b")))
    assert len(scenes) == count
    assert sum(s.duration for s in scenes) == pytest.approx(target or 30)
    assert [s.scene_number for s in scenes] == list(range(1, count + 1))
    assert "Aurora lamp" in scenes[0].description
    assert scenes[1].assets == ("b",)
