"""Title and end cards: in the output format, inside the safe margin in every ratio, and over a
softened still of the scene beside them."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from actorvid.domain.creative import Card, CreativeOptions, Transition
from actorvid.media import inspect
from actorvid.media.cards import SAFE_MARGIN, layout, undrawable
from actorvid.media.ffmpeg import FFmpeg
from actorvid.pipelines.cards import music_lengths, render_cards, scene_still
from actorvid.workflows.brand import (
    DEFAULT_PRIMARY,
    DEFAULT_SECONDARY,
    brand_colors,
    brand_font_weight,
)

LONG_TITLE = ("12 Ocean Drive — a bright four-bedroom villa with pool, garden, sea views "
              "and a wraparound terrace, Ñandú Éclat Straße")
PRIMARY = "1f4e79"


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate()


def frame_rgb(ffmpeg: FFmpeg, path: Path, at: float) -> tuple[int, int, bytes]:
    text = inspect.streams(ffmpeg, path).video
    width, height = _size(text)
    raw = subprocess.run([ffmpeg.binary, "-hide_banner", "-nostdin", "-loglevel", "error",
                          "-ss", str(at), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True,
                         timeout=60).stdout
    assert len(raw) == width * height * 3
    return width, height, raw


def _size(stream_line: str) -> tuple[int, int]:
    for part in stream_line.replace(",", " ").split():
        if "x" in part and part.split("x")[0].isdigit() and part.split("x")[1].isdigit():
            return int(part.split("x")[0]), int(part.split("x")[1])
    raise AssertionError(f"no size in {stream_line}")


def ink_box(width: int, height: int, raw: bytes, background: tuple[int, int, int]
            ) -> tuple[int, int, int, int]:
    """Bounding box (left, top, right, bottom) of pixels clearly unlike ``background``."""
    left, top, right, bottom = width, height, -1, -1
    for y in range(height):
        row = raw[y * width * 3:(y + 1) * width * 3]
        for x in range(0, width):
            r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
            if abs(r - background[0]) + abs(g - background[1]) + abs(b - background[2]) > 60:
                left, right = min(left, x), max(right, x)
                top, bottom = min(top, y), max(bottom, y)
    return left, top, right, bottom


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "1:1"])
def test_a_long_title_stays_inside_the_safe_margin(ffmpeg, tmp_path, ratio):
    card = Card(LONG_TITLE, "€1,250,000 · Call Ana · 555-0100", 2, "brand")
    options = CreativeOptions(aspect_ratio=ratio, title_card=card)
    shots = render_cards(ffmpeg, options, None, None, tmp_path,
                         guidelines={"colors": {"primary": f"#{PRIMARY}"}})
    assert shots.title is not None and shots.end is None
    assert inspect.stream_problems(inspect.streams(ffmpeg, shots.title)) == []
    assert abs(inspect.stream_duration(ffmpeg, shots.title, "v") - 2.0) < 0.05
    assert abs(inspect.stream_duration(ffmpeg, shots.title, "a") - 2.0) < 0.05
    width, height, raw = frame_rgb(ffmpeg, shots.title, 1.0)
    assert (width, height) == options.frame_size()
    left, top, right, bottom = ink_box(width, height, raw, tuple(
        int(PRIMARY[i:i + 2], 16) for i in (0, 2, 4)))  # type: ignore[arg-type]
    assert right > left and bottom > top, "no text was drawn"
    mx, my = math.ceil(width * SAFE_MARGIN), math.ceil(height * SAFE_MARGIN)
    assert left >= mx and right < width - mx, (left, right, width)
    assert top >= my and bottom < height - my, (top, bottom, height)
    # The text is not shrunk to a speck: it spans most of the safe width.
    assert right - left > 0.6 * (width - 2 * mx)


def test_the_text_wraps_and_shrinks_to_fit():
    short = layout(Card("Villa"), 1280, 720)
    long = layout(Card(LONG_TITLE), 720, 1280)
    assert len(short) == 1 and len(long) > 3
    assert long[0].size < short[0].size


def test_a_still_card_is_drawn_over_the_softened_scene(ffmpeg, tmp_path):
    clip = tmp_path / "clip.mp4"
    ffmpeg.run(["-f", "lavfi", "-i", "color=c=red:s=320x240:d=1,format=yuv420p",
                "-c:v", "libx264", "-preset", "ultrafast", "-y", str(clip)])
    still = scene_still(ffmpeg, clip, tmp_path / "last.png", last=True)
    options = CreativeOptions(aspect_ratio="9:16", end_card=Card("Call Ana", seconds=2))
    shots = render_cards(ffmpeg, options, None, still, tmp_path)
    assert shots.title is None and shots.end is not None
    width, height, raw = frame_rgb(ffmpeg, shots.end, 0.5)
    corner = raw[:3]
    # Red, darkened: still red, no longer full red.
    assert corner[0] > 2 * corner[1] and corner[0] < 230, corner


def test_characters_the_font_cannot_draw_are_named():
    assert undrawable("Ærø Straße Łódź Ελλάδα Москва · € – “ok”") == []
    assert undrawable("Villa 🏠 东京") == ["🏠", "东", "京"]


def test_brand_colours_and_weight_come_from_the_guidelines():
    assert brand_colors({"colors": ["navy", "#123", "#A0B1C2"]}) == ("112233", "a0b1c2")
    assert brand_colors({"colors": {"primary": "#000000"}}) == ("000000", DEFAULT_SECONDARY)
    assert brand_colors(None) == (DEFAULT_PRIMARY, DEFAULT_SECONDARY)
    assert brand_font_weight({"fonts": ["Inter Regular"]}) == "regular"
    assert brand_font_weight({"fonts": ["Inter"]}) == brand_font_weight(None) == "bold"


def test_the_music_covers_the_cards_and_changes_only_between_clips():
    plain = CreativeOptions()
    assert music_lengths(plain, [4, 4]) == [4, 4]
    options = CreativeOptions(transition=Transition("crossfade", 0.5),
                              title_card=Card("A", seconds=3), end_card=Card("B", seconds=2))
    lengths = music_lengths(options, [4, 6])
    assert len(lengths) == 2
    assert sum(lengths) == options.video_seconds([4, 6])
    # The title (3 s) and the first clip share the first segment, up to the middle of the
    # crossfade between the clips.
    assert lengths[0] == (3 - 0.25) + (4 - 0.25 - 0.25)
