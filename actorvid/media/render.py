"""A clip from two stills: a slow push-in on the first, crossfade into the second (local renderer).

The output is what a clip from a video model becomes after our normalisation, so the stitcher
never meets a special case: H.264 at the output frame rate (30 fps, so no frame is repeated when
clips are joined), the exact size asked (cover scale and centre crop, never a stretch), the exact
duration, tv-range BT.709 and a silent stereo AAC track.

Motion is sub-pixel: ``zoompan`` crops whole pixels, so each still is first upscaled
:data:`SUPERSAMPLE` times and the crop is scaled down to the frame — the camera then moves in
steps of 1/:data:`SUPERSAMPLE` pixel, which reads as a glide, not a jittering crop. Every frame
moves (the second still keeps drifting after the crossfade), so no frame duplicates another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.media.output import (
    FPS,
    SAMPLES_PER_FRAME,
    TV_BT709,
    audio_encoder_args,
    output_args,
    shot_encoder_args,
    video_encoder_args,
)

DEFAULT_FPS = FPS
ZOOM = 0.12  # how far the first image pushes in over its time on screen
DRIFT = 0.08  # how far the second image keeps pushing in after the crossfade
# Sideways travel during a push-in, as a share of the final crop's room: without it the centre
# of a push-in never moves and slow frames there are near-duplicates (measured: mpdecimate
# dropped 2–11 frames of 120 without it, none with it).
PAN = 1.0
START = 0.08  # a push-in starts this far in, so the sideways travel has room from frame one
# (at 0.03 the first 20 frames of a smooth photo moved too little and mpdecimate took them for
# duplicates once the stitch re-encoded them)
SUPERSAMPLE = 4  # sub-pixel steps per output pixel (a preview draws with fewer)
# The quality of a clip made directly as a shot (only previews are, today): smaller than a
# deliverable's 21 — what the preview's separate mark pass used before.
SHOT_CRF = 26


def cover(width: int, height: int) -> str:
    """Fill ``width``×``height`` keeping the aspect ratio: scale up to cover, crop the centre."""
    return (f"scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},setsar=1")


def push_in(width: int, height: int, *, frames: int, zoom: float, fps: int,
            supersample: int = SUPERSAMPLE) -> str:
    """A push-in by ``zoom`` over ``frames`` frames, drifting right, at a steady pace, sub-pixel.

    Steady, not eased: an eased start moves less than a pixel for its first frames, and those
    frames would be near-duplicates — the judder this renderer exists to avoid.

    The still is one input frame; ``zoompan`` emits ``frames`` frames from it. Its output is
    tv-range yuv420p like every clip (``in_range=auto`` converts full-range JPEGs).
    """
    big_w, big_h = width * supersample, height * supersample
    span = max(1, frames - 1)
    # Sideways at a steady speed: from the left edge to the right edge of the final crop. The
    # room a push-in makes grows faster than this line, so the crop never leaves the photo.
    travel = PAN * (1 - 1 / (1 + START + zoom))
    return (f"{cover(big_w, big_h)},"
            f"zoompan=z='{1 + START}+{zoom}*on/{span}'"
            f":x='iw*{travel:.5f}*on/{span}':y='ih/2-(ih/zoom/2)'"
            f":d={frames}:s={width}x{height}:fps={fps},"
            f"scale=in_range=auto:out_range=tv:out_color_matrix=bt709,"
            f"{TV_BT709},settb=AVTB")


def transition_args(first: Path, last: Path, out: Path, *, duration: float, width: int,
                    height: int, fps: int = DEFAULT_FPS, preset: str = "veryfast",
                    supersample: int = SUPERSAMPLE, overlay: str = "",
                    shot_keyframes: Sequence[int] | None = None) -> list[str]:
    """ffmpeg arguments rendering ``first`` → ``last`` into ``out`` (an .mp4).

    ``supersample``: sub-pixel steps of the camera move (:data:`SUPERSAMPLE` unless a caller
    trades smoothness for speed). ``overlay``: a filter drawn over every frame in the same
    pass (a preview's mark). With ``shot_keyframes`` the clip is made directly as a shot of
    ``actorvid.media.shots`` (:func:`shot_output_args`), drawn at ``fps`` and written at the
    output's rate, so it joins other shots by copy without being normalised again.
    """
    part = transition_part(first, last, out, duration=duration, width=width, height=height,
                           fps=fps, preset=preset, supersample=supersample, overlay=overlay,
                           shot_keyframes=shot_keyframes)
    return part.args()


@dataclass(frozen=True)
class RenderPart:
    """One clip of an ffmpeg run: its inputs, its filter graph, its output (with its maps).
    Several parts make one run (:func:`batch_args`), each graph on its own thread."""

    inputs: list[str]
    graph: str
    output: list[str]

    def args(self) -> list[str]:
        return [*self.inputs, "-filter_complex", self.graph, *self.output]


def transition_part(first: Path, last: Path, out: Path, *, duration: float, width: int,
                    height: int, fps: int = DEFAULT_FPS, preset: str = "veryfast",
                    supersample: int = SUPERSAMPLE, overlay: str = "",
                    shot_keyframes: Sequence[int] | None = None, first_input: int = 0,
                    label: str = "v") -> RenderPart:
    """:func:`transition_args` as a part of a run whose inputs before it are ``first_input``
    many, its picture labelled ``label``."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p")
    fade = round(min(1.0, duration / 3), 3)
    hold = round(min(0.5, duration / 6), 3)
    offset = round(max(0.05, duration - fade - hold), 3)
    total_frames = max(1, round(duration * fps))
    first_frames = max(1, round((offset + fade) * fps))
    last_frames = max(1, total_frames - round(offset * fps))
    move_first = push_in(width, height, frames=first_frames, zoom=ZOOM, fps=fps,
                         supersample=supersample)
    move_last = push_in(width, height, frames=last_frames, zoom=DRIFT, fps=fps,
                        supersample=supersample)
    n = first_input
    graph = (f"[{n}:v]{move_first}[a];[{n + 1}:v]{move_last}[b];"
             f"[a][b]xfade=transition=fade:duration={fade}:offset={offset}"
             f"{',' + overlay if overlay else ''}")
    inputs = ["-i", str(first), "-i", str(last), "-f", "lavfi", "-t", f"{duration:.3f}",
              "-i", "anullsrc=r=48000:cl=stereo"]
    maps = ["-map", f"[{label}]", "-map", f"{n + 2}:a"]
    if shot_keyframes is not None:
        # Drawn at ``fps``, written at the output's rate; the last frame is held if the move
        # comes out a frame short (as ``normalise_shot`` would hold it), so the shot has
        # exactly the frames of its duration.
        return RenderPart(inputs, f"{graph},fps={FPS},tpad=stop_mode=clone:stop_duration=1,"
                                  f"{TV_BT709}[{label}]",
                          [*maps, *shot_output_args(out, duration=duration,
                                                    keyframes=shot_keyframes)])
    return RenderPart(inputs, f"{graph},{TV_BT709}[{label}]",
                      [*maps, *clip_output_args(out, duration=duration, fps=fps,
                                                preset=preset)])


def batch_args(parts: Sequence[RenderPart]) -> list[str]:
    """One ffmpeg run making every part's clip: each part's graph is its own
    ``-filter_complex``, which ffmpeg runs on its own thread, so one process (one media slot)
    uses every core. The parts must have been numbered in order (``first_input``, ``label``)."""
    return [*(arg for part in parts for arg in part.inputs),
            *(arg for part in parts for arg in ("-filter_complex", part.graph)),
            *(arg for part in parts for arg in part.output)]


def clip_output_args(out: Path, *, duration: float, fps: int, preset: str) -> list[str]:
    """The encoding every local clip shares (the output format of ``media/output.py``, so the
    stitcher meets one shape), exactly ``duration`` long at a constant ``fps``.

    At the output's 30 fps it is a shot's own encoding (``shot_encoder_args``: no B-frames,
    ``stitchable``), so a clip rendered at the job's frame becomes its shot by a remux, not an
    encode (:func:`actorvid.media.shots.conforms`); other rates (previews) keep the plain
    encoder."""
    video = (shot_encoder_args(preset=preset, crf=18) if fps == FPS
             else video_encoder_args(preset=preset, crf=18, fps=fps))
    return [
        *video, *audio_encoder_args(bitrate="96k"),
        "-frames:v", str(max(1, round(duration * fps))), "-t", f"{duration:.3f}",
        *output_args(out),
    ]


def shot_output_args(out: Path, *, duration: float, keyframes: Sequence[int],
                     crf: int = SHOT_CRF) -> list[str]:
    """The encoding of a clip made directly as a shot (``actorvid.media.shots``): the shot
    encoder with IDR frames at ``keyframes``, :data:`FPS`, and a sound track of exactly
    :data:`SAMPLES_PER_FRAME` samples per frame — what ``normalise_shot`` would make of it."""
    frames = max(1, round(duration * FPS))
    return [
        *shot_encoder_args(keyframes, crf=crf), *audio_encoder_args(),
        "-af", f"atrim=end_sample={frames * SAMPLES_PER_FRAME}",
        "-frames:v", str(frames), *output_args(out),
    ]
