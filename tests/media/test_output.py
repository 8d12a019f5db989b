"""The final file as a viewer meets it, measured with the bundled ffmpeg.

The soundtrack path here is the pipelines' own (``plan_segments`` → ``join_audio`` →
``mux_soundtrack``) over 1, 3, 7 and 10 scenes; segments alternate between a low and a high tone
so each change of music can be found in the audio and compared with the cuts.
"""

from __future__ import annotations

import re
import subprocess
from itertools import accumulate
from pathlib import Path

import pytest

from actorvid.media import inspect
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.preview import (
    PREVIEW_FPS,
    PREVIEW_KEYFRAMES,
    PREVIEW_SUPERSAMPLE,
    mark_filter,
)
from actorvid.media.render import transition_args
from actorvid.media.shots import read_shot
from actorvid.media.stitch import join_audio, mux_soundtrack, stitch
from actorvid.pipelines.soundtrack import CROSSFADE, plan_segments, requested_seconds

LOW, HIGH = 300, 2000  # Hz: alternate segments, told apart by a 1 kHz high-pass
CUT_TOLERANCE = 0.15


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate()


def tone(ffmpeg: FFmpeg, path: Path, seconds: int, frequency: int) -> Path:
    """What MusicGen hands back: whole seconds (more than planned), an MP3."""
    ffmpeg.run(["-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}",
                "-af", "volume=-9dB", "-c:a", "libmp3lame", "-b:a", "64k", "-y", str(path)])
    return path


def picture(ffmpeg: FFmpeg, path: Path, seconds: float, *, size: str = "160x90",
            rate: int = 30, audio: bool = False, pix_fmt: str = "yuv420p") -> Path:
    """A small clip like a model's: its own size, frame rate, pixel format, maybe audio."""
    sound = ["-f", "lavfi", "-i", f"sine=frequency=500:duration={seconds}"] if audio else []
    ffmpeg.run(["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
                *sound, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", pix_fmt,
                *(["-c:a", "aac"] if audio else []), "-y", str(path)])
    return path


def high_band_changes(ffmpeg: FFmpeg, path: Path) -> list[float]:
    """Times where the high tone's level crosses halfway (−6 dB) between its two states."""
    proc = subprocess.run([ffmpeg.binary, "-hide_banner", "-nostdin", "-i", str(path),
                           "-map", "0:a:0", "-af",
                           "highpass=f=1000:poles=2,highpass=f=1000:poles=2,asetnsamples=480,"
                           "astats=metadata=1:reset=1,"
                           "ametadata=print:key=lavfi.astats.Overall.RMS_level",
                           "-f", "null", "-"], capture_output=True, text=True, timeout=120)
    times = [float(t) for t in re.findall(r"pts_time:([\d.]+)", proc.stderr)]
    levels = [float(v) if v not in ("-inf", "inf") else -120.0
              for v in re.findall(r"RMS_level=(-?[\d.]+|-?inf)", proc.stderr)]
    top = max(levels)
    above = [level > top - 6 for level in levels]
    return [times[i] for i in range(1, len(above)) if above[i] != above[i - 1]]


@pytest.mark.parametrize("scenes", [1, 3, 7, 10])
def test_the_soundtrack_covers_the_picture_and_changes_on_the_cuts(ffmpeg, tmp_path, scenes):
    clips = [4.0 if i % 3 else 6.0 for i in range(scenes)]  # mixed lengths, like Veo's 4/6
    total = sum(clips)
    plan = plan_segments(["p"] * scenes, clips)
    parts = [(tone(ffmpeg, tmp_path / f"m{i}.mp3", requested_seconds(s.duration),
                   HIGH if i % 2 else LOW), s.duration) for i, s in enumerate(plan)]
    track = join_audio(ffmpeg, parts, tmp_path / "track.m4a", crossfade=CROSSFADE, total=total)
    video = stitch(ffmpeg, [picture(ffmpeg, tmp_path / "v.mp4", total)],
                   tmp_path / "stitched.mp4", width=160, height=90).path
    final = mux_soundtrack(ffmpeg, video, track, tmp_path / "final.mp4", video_duration=total)

    assert inspect.problems(ffmpeg, final, soundtrack=True) == []
    assert abs(inspect.stream_duration(ffmpeg, final, "a") - total) <= 0.05
    # The first fade reaches the threshold a few hundredths in: nothing longer, anywhere.
    assert [s for s in inspect.silences(ffmpeg, final, at_least=0.1)
            if s[0] < total - 1.5] == []
    cuts = list(accumulate(clips))[:-1]
    changes = [t for t in high_band_changes(ffmpeg, final) if 0.5 < t < total - 2.0]
    assert len(changes) == len(cuts), (changes, cuts)
    for change, cut in zip(changes, cuts, strict=True):
        assert abs(change - cut) <= CUT_TOLERANCE, (changes, cuts)


def test_clips_of_any_model_come_out_in_one_format(ffmpeg, tmp_path):
    # Veo-like: own audio, 24 fps; Hailuo-like: no audio, 25 fps, another size; a full-range
    # (JPEG-style yuvj420p) clip like a still rendered without care.
    clips = [picture(ffmpeg, tmp_path / "veo.mp4", 2.0, size="320x180", rate=24, audio=True),
             picture(ffmpeg, tmp_path / "hailuo.mp4", 2.0, size="300x200", rate=25),
             picture(ffmpeg, tmp_path / "full.mp4", 1.0, size="320x180",
                     pix_fmt="yuvj420p")]
    result = stitch(ffmpeg, clips, tmp_path / "out.mp4", width=320, height=180)
    assert inspect.problems(ffmpeg, result.path, soundtrack=False) == []
    info = inspect.streams(ffmpeg, result.path)
    assert "yuvj" not in info.video and "320x180" in info.video
    assert abs(inspect.stream_duration(ffmpeg, result.path, "v") - 5.0) <= 0.05


def test_full_range_stills_are_converted_not_relabelled(ffmpeg, tmp_path):
    # A black-to-white JPEG: in tv range its extremes must land near 16 and 235.
    still = tmp_path / "ramp.jpg"
    ffmpeg.run(["-f", "lavfi", "-i", "color=c=black:s=320x180,drawbox=x=160:w=160:h=180:"
                "color=white:t=fill", "-frames:v", "1", "-q:v", "2", "-y", str(still)])
    clip = tmp_path / "clip.mp4"
    ffmpeg.run(transition_args(still, still, clip, duration=1.0, width=320, height=180))
    proc = subprocess.run([ffmpeg.binary, "-hide_banner", "-i", str(clip), "-vf",
                           "signalstats,metadata=print:key=lavfi.signalstats.YMIN",
                           "-frames:v", "1", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60)
    proc_max = subprocess.run([ffmpeg.binary, "-hide_banner", "-i", str(clip), "-vf",
                               "signalstats,metadata=print:key=lavfi.signalstats.YMAX",
                               "-frames:v", "1", "-f", "null", "-"],
                              capture_output=True, text=True, timeout=60)
    low = int(re.findall(r"YMIN=(\d+)", proc.stderr)[0])
    high = int(re.findall(r"YMAX=(\d+)", proc_max.stderr)[0])
    assert 12 <= low <= 20 and 230 <= high <= 240, (low, high)


@pytest.fixture(scope="module")
def detailed_photo(tmp_path_factory) -> Path:
    """A 1920×1080 JPEG full of fine detail (test pattern plus grain): the hardest case for
    shimmer, and full-range like every camera JPEG."""
    path = tmp_path_factory.mktemp("photo") / "detailed.jpg"
    FFmpeg.locate().run(["-f", "lavfi", "-i", "testsrc2=s=1920x1080,noise=alls=40:allf=u",
                         "-frames:v", "1", "-q:v", "2", "-y", str(path)])
    return path


def test_an_offline_zoom_clip_glides(ffmpeg, tmp_path, detailed_photo):
    clip = tmp_path / "zoom.mp4"
    ffmpeg.run(transition_args(detailed_photo, detailed_photo, clip, duration=4.0,
                               width=640, height=360))
    assert inspect.frame_count(ffmpeg, clip) == 120  # 30 fps, the output's own rate
    assert inspect.duplicated_frames(ffmpeg, clip) == 0
    mean, peak = inspect.frame_change(ffmpeg, clip)
    # Measured 3.0 mean / 4.4 max of 255 (docs/benchmarks.md); 47–106 before this renderer.
    assert mean < 4.0 and peak < 8.0, (mean, peak)


def test_a_preview_shot_is_drawn_lighter_and_still_moves_on_every_drawn_frame(
        ffmpeg, tmp_path, detailed_photo):
    """The preview's renderer: 2× supersampling drawn at 15 fps, the mark in the same pass,
    written as a 30 fps shot that joins by copy (its keyframes where transitions need them)."""
    shot = tmp_path / "preview_shot.mp4"
    ffmpeg.run(transition_args(detailed_photo, detailed_photo, shot, duration=4.0, width=640,
                               height=360, fps=PREVIEW_FPS, supersample=PREVIEW_SUPERSAMPLE,
                               overlay=mark_filter(640, 360),
                               shot_keyframes=PREVIEW_KEYFRAMES))
    assert inspect.stream_problems(inspect.streams(ffmpeg, shot)) == []
    made = read_shot(shot)
    assert made.frames == 120 and set(PREVIEW_KEYFRAMES) <= set(made.keyframes)
    # Each drawn frame is shown twice at 30 fps: exactly the repeats are near-duplicates
    # (one more if the last frame was held), so every drawn frame moved.
    assert 60 <= inspect.duplicated_frames(ffmpeg, shot) <= 61
