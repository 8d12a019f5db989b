"""A clip from text alone: the scene's words over a moving brand-colour gradient (local
renderer, for scenes that have no image to animate).

The output has the same shape as :func:`actorvid.media.render.transition_args`'s (H.264 yuv420p,
constant frame rate, the exact size and duration, a silent stereo AAC track), so the stitcher
never meets a special case. ``drawtext`` needs a font file; the ffmpeg of the ``imageio-ffmpeg``
wheel has the filter but ships no font, so the words are set in the DejaVu Sans the package
ships for the cards (``fonts/``): the same clip on every machine, whatever fonts it has.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from actorvid.media.cards import FONT_FILES
from actorvid.media.render import DEFAULT_FPS, clip_output_args

DEFAULT_COLOR = "1f4e79"  # a calm blue when the client has no brand colour


def background(color: str) -> str:
    """``color`` when it is ``rrggbb`` (it goes into a filter string), else the default."""
    return color if re.fullmatch(r"[0-9a-f]{6}", color or "") else DEFAULT_COLOR


def shade(color: str, factor: float) -> str:
    """``color`` (``RRGGBB``) with each channel scaled by ``factor`` (darker below 1)."""
    channels = [int(color[i:i + 2], 16) for i in (0, 2, 4)]
    return "".join(f"{max(0, min(255, round(c * factor))):02x}" for c in channels)


def wrap(text: str, *, width: int, max_lines: int = 4) -> str:
    """The text in at most ``max_lines`` lines of about ``width`` characters (… when cut)."""
    lines = textwrap.wrap(" ".join(text.split()), width=width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:max(0, width - 1)].rstrip() + "…"
    return "\n".join(lines)


def text_clip_args(text_file: Path | None, out: Path, *, color: str, duration: float,
                   width: int, height: int, fps: int = DEFAULT_FPS, preset: str = "veryfast",
                   font: Path = FONT_FILES["regular"]) -> list[str]:
    """ffmpeg arguments rendering a moving gradient of ``color`` (``RRGGBB``) with the words
    of ``text_file`` (when given) centred on it in ``font``, into ``out``.

    The text goes through a file (``textfile=``), never the filter string, so no user text
    needs escaping for the filter graph.
    """
    if duration <= 0:
        raise ValueError("duration must be positive")
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p")
    color = background(color)
    graph = (f"gradients=s={width}x{height}:r={fps}:d={duration:.3f}:n=3:speed=0.02"
             f":c0=0x{color}:c1=0x{shade(color, 0.45)}:c2=0x{shade(color, 1.35)}:seed=7")
    if text_file is not None:
        size = max(16, height // 14)
        graph += (f",drawtext=fontfile='{font}':textfile='{text_file}':expansion=none"
                  f":fontcolor=white:fontsize={size}:line_spacing={size // 3}"
                  f":box=1:boxcolor=black@0.35:boxborderw={size // 2}:x=(w-text_w)/2:y=(h-text_h)/2"
                  f":alpha='min(1,t/0.6)'")
    graph += ",format=yuv420p[v]"
    return [
        "-f", "lavfi", "-t", f"{duration:.3f}", "-i", "anullsrc=r=48000:cl=stereo",
        "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
        *clip_output_args(out, duration=duration, fps=fps, preset=preset),
    ]
