"""Shots joined by copy: exact lengths, transitions only in their windows, sound in sync.

Solid-colour shots make a blend measurable: the mean colour of one frame (scaled to 1×1) tells
red from green from a mix of both, and black from either.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from actorvid.domain.creative import Transition, video_seconds
from actorvid.media import inspect
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.mp4index import is_silent
from actorvid.media.output import FPS, TV_BT709
from actorvid.media.render import clip_output_args
from actorvid.media.shots import (
    Shot,
    conforms,
    join_shots,
    normalise_shot,
    overlaps,
)
from actorvid.media.stitch import score_shots

SIZE = (160, 90)
FRAME = 1 / FPS


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate()


def solid(ffmpeg: FFmpeg, path: Path, color: str, seconds: float, *,
          tone: int | None = None) -> Path:
    """A model-like clip: its own size and rate (12 fps), with a tone or without sound."""
    sound = ["-f", "lavfi", "-i", f"sine=frequency={tone}:duration={seconds}"] if tone else []
    ffmpeg.run(["-f", "lavfi", "-i", f"color=c={color}:s=128x72:r=12:d={seconds}", *sound,
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                *(["-c:a", "aac"] if tone else []), "-y", str(path)])
    return path


def shots_for(ffmpeg: FFmpeg, workdir: Path, transition: Transition,
              colors: tuple[str, ...] = ("red", "lime", "blue")) -> list[Shot]:
    return [normalise_shot(ffmpeg, solid(ffmpeg, workdir / f"{c}.mp4", c, 2.0),
                           workdir / f"shot_{c}.mp4", width=SIZE[0], height=SIZE[1],
                           transition=transition) for c in colors]


def mean_rgb(ffmpeg: FFmpeg, path: Path, frame: int) -> tuple[int, int, int]:
    proc = subprocess.run([ffmpeg.binary, "-v", "error", "-i", str(path), "-vf",
                           f"select=eq(n\\,{frame}),scale=1:1:flags=area,format=rgb24",
                           "-frames:v", "1", "-f", "rawvideo", "-"],
                          capture_output=True, check=True, timeout=60)
    red, green, blue = proc.stdout[:3]
    return red, green, blue


def packet_hashes(ffmpeg: FFmpeg, path: Path, stream: str = "v") -> list[str]:
    """The MD5 of every video (or ``stream``) packet, as stored (no decoding)."""
    proc = subprocess.run([ffmpeg.binary, "-v", "error", "-i", str(path), "-map", f"0:{stream}:0",
                           "-c", "copy", "-f", "framemd5", "-"],
                          capture_output=True, text=True, check=True, timeout=60)
    return [line.rsplit(",", 1)[1].strip() for line in proc.stdout.splitlines()
            if line and not line.startswith("#")]


def test_a_crossfade_blends_only_its_windows_and_shortens_by_the_overlaps(ffmpeg, tmp_path):
    transition = Transition("crossfade", 0.5)
    shots = shots_for(ffmpeg, tmp_path, transition)
    joined = join_shots(ffmpeg, shots, tmp_path / "out.mp4", transition=transition)

    assert inspect.problems(ffmpeg, joined.path, soundtrack=False) == []
    expected = video_seconds([s.seconds for s in shots], transition)
    assert expected == pytest.approx(5.0)
    for kind in ("v", "a"):
        assert abs(inspect.stream_duration(ffmpeg, joined.path, kind) - expected) <= FRAME
    assert inspect.frame_count(ffmpeg, joined.path) == joined.frames == 150
    # Only the two 15-frame windows were encoded again.
    assert joined.encoded_frames == 30
    red, green, blue = mean_rgb(ffmpeg, joined.path, 45 + 7)  # the middle of window 1
    assert 80 < red < 180 and 80 < green < 180 and blue < 40, (red, green, blue)
    assert mean_rgb(ffmpeg, joined.path, 30)[0] > 220  # before the window: red alone


def test_fadeblack_goes_through_black_at_the_join(ffmpeg, tmp_path):
    transition = Transition("fadeblack", 0.5)
    shots = shots_for(ffmpeg, tmp_path, transition, colors=("red", "lime"))
    joined = join_shots(ffmpeg, shots, tmp_path / "out.mp4", transition=transition)
    assert inspect.problems(ffmpeg, joined.path, soundtrack=False) == []
    assert joined.frames == 120 - 15
    # Dark around the middle of the window (frames 45–59), brightest channel of the darkest.
    darkest = min(max(mean_rgb(ffmpeg, joined.path, n)) for n in range(50, 56))
    assert darkest < 30, darkest
    assert mean_rgb(ffmpeg, joined.path, 100)[1] > 220  # then lime


def test_a_cut_copies_every_packet_and_keeps_the_sound_on_the_cuts(ffmpeg, tmp_path):
    # Eleven 1 s shots, 10 joins, sound on every other one: each start and end of the tone
    # must stay on its cut (AAC naively concatenated would slip by ~21 ms per join; the
    # copied frames keep each shot's sound within half an AAC frame, 10.7 ms, of its cut).
    clips = [solid(ffmpeg, tmp_path / f"c{i}.mp4", ("red", "blue")[i % 2], 1.0,
                   tone=None if i % 2 == 0 else 1000) for i in range(11)]
    shots = [normalise_shot(ffmpeg, clip, tmp_path / f"s{i}.mp4", width=SIZE[0],
                            height=SIZE[1]) for i, clip in enumerate(clips)]
    joined = join_shots(ffmpeg, shots, tmp_path / "out.mp4")

    assert inspect.problems(ffmpeg, joined.path, soundtrack=False) == []
    assert joined.encoded_frames == 0
    assert packet_hashes(ffmpeg, joined.path) == [
        h for shot in shots for h in packet_hashes(ffmpeg, shot.path)]
    total = sum(s.frames for s in shots) / FPS
    assert abs(inspect.stream_duration(ffmpeg, joined.path, "a") - total) <= FRAME
    assert tone_edges_off_the_cuts(ffmpeg, joined.path, tolerance=HALF_AAC_FRAME) == []

    # The soundtrack's one audio pass joins the same sound under the music, just as exactly:
    # a low hum under the tones, filtered out again to find the tones' edges.
    assert [is_silent(shot.path) for shot in shots[:2]] == [True, False]
    music = tmp_path / "hum.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "sine=frequency=110:duration=4", "-y", str(music)])
    scored = score_shots(ffmpeg, shots, music, tmp_path / "scored.mp4", volume=1.0)
    assert scored.frames == joined.frames
    assert inspect.problems(ffmpeg, scored.path, soundtrack=True) == []
    assert packet_hashes(ffmpeg, scored.path) == packet_hashes(ffmpeg, joined.path)
    assert tone_edges_off_the_cuts(ffmpeg, scored.path, hum="highpass=f=600:poles=2,"
                                   "highpass=f=600:poles=2,") == []


# How far a shot's sound may sit from its picture once its frames are copied (soundjoin), and
# what silencedetect's edges add to that.
HALF_AAC_FRAME = 512 / 48000 + 0.001


def tone_edges_off_the_cuts(ffmpeg: FFmpeg, path: Path, hum: str = "",
                            tolerance: float = 0.01) -> list[float]:
    """Where the tones start and stop, those more than ``tolerance`` seconds off a whole
    second (a cut)."""
    text = subprocess.run([ffmpeg.binary, "-hide_banner", "-i", str(path), "-map", "0:a:0",
                           "-af", f"{hum}silencedetect=n=-40dB:d=0.2", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60).stderr
    edges = sorted(float(t) for t in re.findall(r"silence_(?:start|end): ([\d.]+)", text))
    assert len(edges) >= 10, edges
    return [edge for edge in edges if abs(edge - round(edge)) > tolerance]


def test_overlaps_stay_within_half_a_frame_of_the_formula():
    for seconds in (0.25, 0.3, 0.5, 0.77, 1.0):
        laps = overlaps(12, Transition("crossfade", seconds))
        for joins in range(1, 13):
            assert abs(sum(laps[:joins]) / FPS - joins * seconds) <= FRAME / 2 + 1e-9
    assert overlaps(3, Transition("cut", 0.5)) == [0, 0, 0]


def local_clip(ffmpeg: FFmpeg, path: Path, color: str, seconds: float, *,
               size: tuple[int, int] = SIZE) -> Path:
    """A clip as the local renderer encodes it (``clip_output_args``), at ``size``."""
    ffmpeg.run(["-f", "lavfi", "-i", f"color=c={color}:s={size[0]}x{size[1]}:r={FPS},{TV_BT709}",
                "-f", "lavfi", "-t", f"{seconds}", "-i", "anullsrc=r=48000:cl=stereo",
                "-map", "0:v", "-map", "1:a",
                *clip_output_args(path, duration=seconds, fps=FPS, preset="veryfast")])
    return path


def test_a_clip_already_in_the_output_format_is_remuxed_not_encoded(ffmpeg, tmp_path):
    made = local_clip(ffmpeg, tmp_path / "local.mp4", "red", 1.0)
    assert conforms(ffmpeg, made, width=SIZE[0], height=SIZE[1])
    # Another frame, or a transition wanting a keyframe it lacks: encoded as before.
    assert not conforms(ffmpeg, made, width=320, height=180)
    assert not conforms(ffmpeg, made, width=SIZE[0], height=SIZE[1], keyframes=[15])
    model = solid(ffmpeg, tmp_path / "model.mp4", "blue", 1.0, tone=440)
    assert not conforms(ffmpeg, model, width=SIZE[0], height=SIZE[1])

    remuxed = normalise_shot(ffmpeg, made, tmp_path / "remuxed.mp4", width=SIZE[0],
                             height=SIZE[1])
    assert remuxed.frames == 30
    assert packet_hashes(ffmpeg, remuxed.path) == packet_hashes(ffmpeg, made)
    # The local renderer's sound already is a shot's (AAC-LC 48 kHz stereo, exact length):
    # copied as well.
    assert packet_hashes(ffmpeg, remuxed.path, "a") == packet_hashes(ffmpeg, made, "a")
    assert is_silent(remuxed.path)
    encoded = normalise_shot(ffmpeg, model, tmp_path / "encoded.mp4", width=SIZE[0],
                             height=SIZE[1])
    joined = join_shots(ffmpeg, [remuxed, encoded, remuxed], tmp_path / "out.mp4")
    assert inspect.problems(ffmpeg, joined.path, soundtrack=False) == []
    assert joined.frames == inspect.frame_count(ffmpeg, joined.path) == 90
    assert mean_rgb(ffmpeg, joined.path, 15)[0] > 220 and mean_rgb(ffmpeg, joined.path, 45)[2] > 220
