"""A clip from two stills: zoom/pan on the first, crossfade into the second (local renderer).

The output is what a clip from a video model becomes after our normalisation, so the stitcher
never meets a special case: H.264 yuv420p at a constant frame rate, the exact size asked (cover
scale and centre crop, never a stretch), the exact duration, and a silent stereo AAC track.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_FPS = 24
ZOOM = 0.12  # how far the first image pushes in over its time on screen


def cover(width: int, height: int) -> str:
    """Fill ``width``×``height`` keeping the aspect ratio: scale up to cover, crop the centre."""
    return (f"scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},setsar=1")


def transition_args(first: Path, last: Path, out: Path, *, duration: float, width: int,
                    height: int, fps: int = DEFAULT_FPS, preset: str = "veryfast") -> list[str]:
    """ffmpeg arguments rendering ``first`` → ``last`` into ``out`` (an .mp4)."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p")
    fade = round(min(1.0, duration / 3), 3)
    hold = round(min(0.5, duration / 6), 3)
    offset = round(max(0.05, duration - fade - hold), 3)
    first_len = offset + fade
    last_len = duration - offset
    first_frames = max(1, round(first_len * fps))
    graph = (
        f"[0:v]{cover(width, height)},"
        f"zoompan=z='1+{ZOOM}*on/{first_frames}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
        f":d=1:s={width}x{height}:fps={fps},format=yuv420p,settb=AVTB[a];"
        f"[1:v]{cover(width, height)},fps={fps},format=yuv420p,settb=AVTB[b];"
        f"[a][b]xfade=transition=fade:duration={fade}:offset={offset},format=yuv420p[v]"
    )
    return [
        "-loop", "1", "-framerate", str(fps), "-t", f"{first_len:.3f}", "-i", str(first),
        "-loop", "1", "-framerate", str(fps), "-t", f"{last_len:.3f}", "-i", str(last),
        "-f", "lavfi", "-t", f"{duration:.3f}", "-i", "anullsrc=r=48000:cl=stereo",
        "-filter_complex", graph, "-map", "[v]", "-map", "2:a",
        *clip_output_args(out, duration=duration, fps=fps, preset=preset),
    ]


def clip_output_args(out: Path, *, duration: float, fps: int, preset: str) -> list[str]:
    """The encoding every local clip shares (so the stitcher meets one shape): H.264 yuv420p
    at a constant ``fps``, AAC stereo 48 kHz, exactly ``duration``, ``+faststart``."""
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", "23", "-pix_fmt", "yuv420p",
        "-r", str(fps), "-fps_mode", "cfr",
        "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2",
        "-frames:v", str(round(duration * fps)), "-t", f"{duration:.3f}",
        "-movflags", "+faststart", "-y", str(out),
    ]
