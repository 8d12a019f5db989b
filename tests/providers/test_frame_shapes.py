"""Every ratio reaches each model only as inputs it accepts, with photos cut to the shape it
renders; the local renderer draws every ratio natively and never stretches."""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests

from actorvid.domain import models
from actorvid.media.ffmpeg import FFmpeg
from actorvid.providers.base import ImageInput, RenderInput
from actorvid.providers.local import LocalRenderer
from actorvid.providers.replicate import CropCache, ReplicateRenderer
from tests.fakes.replicate import FakeReplicate, png_size
from tests.providers.conftest import Blobs, wait_terminal

RATIOS = ("16:9", "9:16", "1:1")
SHAPES = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}


def shape_of(width: int, height: int) -> str:
    """The named ratio within 1.5 % of ``width``/``height`` (even sides round a little)."""
    value = width / height
    return next((name for name, shape in SHAPES.items() if abs(value - shape) < 0.015 * shape),
                f"{width}x{height}")


def price_table() -> list[tuple[str, int, str]]:
    """(model, duration, resolution) of every entry of the price table."""
    veo = [("veo3", d, r) for d in models.VEO_DURATIONS for r in models.VEO_RESOLUTIONS]
    hailuo = [("hailuo", d, r) for r, d, _ in models.PRICES.hailuo_per_clip]
    return veo + hailuo


def circle_photo(ffmpeg: FFmpeg, path: Path, width: int, height: int) -> Path:
    """A dark photo with a bright circle (radius a quarter of the short side) at its centre."""
    radius = min(width, height) // 4
    ffmpeg.run(["-y", "-f", "lavfi", "-i", f"color=c=black:s={width}x{height},format=gray",
                "-vf", f"geq=lum='if(lt(hypot(X-{width / 2},Y-{height / 2}),{radius}),255,0)'",
                "-frames:v", "1", "-update", "1", str(path)], timeout=60)
    return path


def photo(blobs: Blobs, path: Path, width: int, height: int) -> ImageInput:
    ref = blobs.add_file(path, "image/png")
    return ImageInput(ref.asset_id, ref.content_type, ref.size, ref.blob_id, width=width,
                      height=height)


def test_only_valid_inputs_reach_every_model_in_every_ratio(make_client, blobs: Blobs,
                                                             fake_replicate: FakeReplicate,
                                                             tmp_path: Path) -> None:
    ffmpeg = FFmpeg.locate()
    first = photo(blobs, circle_photo(ffmpeg, tmp_path / "a.png", 400, 300), 400, 300)
    last = photo(blobs, circle_photo(ffmpeg, tmp_path / "b.png", 300, 500), 300, 500)
    service = ReplicateRenderer(make_client(), blobs.read, ffmpeg=ffmpeg)
    sent = 0
    for ratio in RATIOS:
        for model, duration, resolution in price_table():
            service.create(RenderInput(model=model, first_frame=first,  # type: ignore[arg-type]
                                       last_frame=last, prompt="p", duration=duration,
                                       aspect_ratio=ratio,  # type: ignore[arg-type]
                                       resolution=resolution),
                           tag=f"{model}-{ratio}-{duration}-{resolution}")
            sent += 1
    # The fake refuses what the model would refuse (422): every create became a prediction.
    assert len(fake_replicate.journal.inputs()) == sent
    # Each photo was read and cut once per ratio it was sent in (16:9, 9:16, 1:1), not once
    # per create: a stored photo never changes, so its cut is kept.
    assert sent > 6 and sorted(Counter(blobs.reads).values()) == [3, 3]
    shapes: dict[tuple[str, str], set[str]] = {}
    for pred in fake_replicate.all_predictions():
        ratio = pred.tag.split("-")[1]
        frames = [pred.input[k] for k in ("image", "last_frame", "first_frame_image",
                                          "last_frame_image") if k in pred.input]
        assert len(frames) == 2
        for uri in frames:
            size = png_size(uri)
            assert size is not None, "a cropped frame is sent as a PNG"
            shapes.setdefault((pred.model, ratio), set()).add(shape_of(*size))
        if pred.model == models.VEO_MODEL:
            assert pred.input["aspect_ratio"] == ("9:16" if ratio == "9:16" else "16:9")
        else:
            assert "aspect_ratio" not in pred.input
    # Veo's frames have the shape it renders (16:9 for a square video: cropped later);
    # Hailuo-02 follows its first frame, so its frames have the video's own shape.
    assert shapes == {
        (models.VEO_MODEL, "16:9"): {"16:9"}, (models.VEO_MODEL, "9:16"): {"9:16"},
        (models.VEO_MODEL, "1:1"): {"16:9"},
        (models.HAILUO_MODEL, "16:9"): {"16:9"}, (models.HAILUO_MODEL, "9:16"): {"9:16"},
        (models.HAILUO_MODEL, "1:1"): {"1:1"}}


def test_scenes_wanting_the_same_cut_wait_for_one_and_the_cache_keeps_its_bound() -> None:
    cache = CropCache(max_bytes=40)
    started, release = threading.Event(), threading.Event()
    made: list[str] = []

    def make() -> bytes:
        made.append("a")
        started.set()
        release.wait(30)
        return b"x" * 10

    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get_or_make(("a", "16:9"),
                                                                            make)))
               for _ in range(4)]
    for t in threads:
        t.start()
    assert started.wait(30)
    release.set()
    for t in threads:
        t.join(30)
    assert got == [b"x" * 10] * 4 and made == ["a"]
    for name in "bcd":  # 10 bytes each: the bound (40) keeps four, the oldest goes first
        cache.get_or_make((name, "16:9"), lambda: b"y" * 10)
    cache.get_or_make(("e", "16:9"), lambda: b"z" * 10)
    assert cache.get_or_make(("a", "16:9"), lambda: b"again") == b"again"
    assert cache.get_or_make(("e", "16:9"), lambda: b"again") == b"z" * 10
    # A cut over a quarter of the bound is used, not kept (it would push every other out).
    assert cache.get_or_make(("big", "1:1"), lambda: b"b" * 11) == b"b" * 11
    assert cache.get_or_make(("big", "1:1"), lambda: b"new") == b"new"


def test_the_fake_refuses_an_aspect_input_a_model_does_not_have(fake_replicate: FakeReplicate
                                                                ) -> None:
    for model, extra in ((models.HAILUO_MODEL, {"aspect_ratio": "1:1"}),
                         (models.VEO_MODEL, {"aspect_ratio": "1:1"})):
        resp = requests.post(f"{fake_replicate.api_url}/models/{model}/predictions",
                             headers={"Authorization": f"Bearer {fake_replicate.token}"},
                             json={"input": {"prompt": "p", **extra}}, timeout=10)
        assert resp.status_code == 422, resp.text
    assert fake_replicate.journal.inputs() == []


def bright_box(ffmpeg: FFmpeg, clip: Path) -> tuple[int, int, int, int]:
    """(width, height) of the frame and of the bright pixels' bounding box in the first frame."""
    text = subprocess.run([ffmpeg.binary, "-hide_banner", "-i", str(clip)], capture_output=True,
                          text=True, timeout=60).stderr
    line = next(li for li in text.splitlines() if " Video: " in li)
    size = next(p for p in line.replace(",", " ").split()
                if "x" in p and all(s.isdigit() for s in p.split("x")))
    width, height = (int(v) for v in size.split("x"))
    raw = subprocess.run([ffmpeg.binary, "-hide_banner", "-loglevel", "error", "-i", str(clip),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    xs = [i % width for i, v in enumerate(raw) if v > 128]
    ys = [i // width for i, v in enumerate(raw) if v > 128]
    return width, height, max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


@pytest.mark.parametrize("ratio", RATIOS)
def test_the_local_renderer_draws_every_ratio_natively_and_a_circle_stays_round(
        blobs: Blobs, tmp_path: Path, ratio: str) -> None:
    ffmpeg = FFmpeg.locate()
    still = photo(blobs, circle_photo(ffmpeg, tmp_path / "c.png", 480, 360), 480, 360)
    renderer = LocalRenderer(blobs.read, workers=1, workdir=tmp_path)
    try:
        created = renderer.create(RenderInput(model="veo3", first_frame=still, last_frame=still,
                                              prompt="p", duration=1,
                                              aspect_ratio=ratio,  # type: ignore[arg-type]
                                              resolution="240p"), tag=f"circle-{ratio}")
        final, _ = wait_terminal(renderer.get, created.id, timeout=120)
        assert final.status == "succeeded", final.error
        clip = tmp_path / "clip.mp4"
        with clip.open("wb") as dest:
            renderer.download(final, dest)
    finally:
        renderer.close()
    width, height, box_w, box_h = bright_box(ffmpeg, clip)
    assert (width, height) == models.frame_size("240p", ratio)
    assert abs(width / height - SHAPES[ratio]) < 0.01
    assert box_w > 20 and abs(box_w - box_h) <= 0.04 * box_w, (box_w, box_h)
