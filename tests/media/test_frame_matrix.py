"""Every frame shape × every transition: the finished picture has the exact frame of the
issue's table and the formula's length, and a round thing in a photo of another shape stays
round (cropped at the centre, never stretched)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from actorvid.domain.creative import ASPECT_RATIOS, TRANSITIONS, Transition, frame_size
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.output import FPS
from actorvid.media.shots import join_shots, normalise_shot

SECONDS = 1.0
SOURCE = (320, 240)  # 4:3, the shape of no video
RADIUS = 60


@pytest.fixture(scope="module")
def ffmpeg() -> FFmpeg:
    return FFmpeg.locate()


@pytest.fixture(scope="module")
def circle_clip(ffmpeg: FFmpeg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A white disc in the middle of a black 4:3 clip, as a model might send it."""
    path = tmp_path_factory.mktemp("matrix") / "circle.mp4"
    w, h = SOURCE
    disc = f"if(lt(hypot(X-{w / 2},Y-{h / 2}),{RADIUS}),255,0)"
    ffmpeg.run(["-f", "lavfi", "-i", f"color=c=black:s={w}x{h}:r=24:d={SECONDS}",
                "-vf", f"format=rgb24,geq=r='{disc}':g='{disc}':b='{disc}'",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y",
                str(path)])
    return path


def bright_box(ffmpeg: FFmpeg, video: Path, width: int, height: int, frame: int
               ) -> tuple[int, int]:
    """Width and height of the bounding box of the bright pixels in one frame."""
    raw = subprocess.run([ffmpeg.binary, "-v", "error", "-i", str(video), "-vf",
                          f"select=eq(n\\,{frame}),format=gray", "-frames:v", "1",
                          "-f", "rawvideo", "-"], capture_output=True, check=True,
                         timeout=60).stdout
    rows = [y for y in range(height) if max(raw[y * width:(y + 1) * width]) > 128]
    cols = [x for x in range(width) if max(raw[x::width][:height]) > 128]
    return cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1


@pytest.mark.parametrize("ratio", ASPECT_RATIOS)
@pytest.mark.parametrize("kind", TRANSITIONS)
def test_every_ratio_and_transition_has_the_exact_frame_length_and_round_circles(
        ffmpeg: FFmpeg, circle_clip: Path, tmp_path: Path, ratio: str, kind: str) -> None:
    width, height = frame_size("720p", ratio)
    transition = Transition(kind, 0.5)  # type: ignore[arg-type]
    shots = [normalise_shot(ffmpeg, circle_clip, tmp_path / f"shot{i}.mp4", width=width,
                            height=height, fit="crop", transition=transition)
             for i in range(2)]
    joined = join_shots(ffmpeg, shots, tmp_path / "joined.mp4", transition=transition)
    info = ffmpeg.probe(joined.path)
    assert (info.width, info.height) == {"16:9": (1280, 720), "9:16": (720, 1280),
                                         "1:1": (720, 720)}[ratio]
    expected = 2 * SECONDS - transition.overlap
    assert info.duration is not None and abs(info.duration - expected) <= 1 / FPS + 1e-6
    box_w, box_h = bright_box(ffmpeg, joined.path, width, height, frame=3)
    assert abs(box_w - box_h) <= 0.03 * box_h, (box_w, box_h)  # round, not stretched
