"""JPEG thumbnails of images and video frames, made by ffmpeg."""

from __future__ import annotations

from pathlib import Path

from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg

THUMBNAIL_SIZE = 256
THUMBNAIL_TIMEOUT = 60.0


def frame_time(duration: float | None) -> float:
    """Where to take a video's thumbnail: 1 s in, or 10% of a shorter clip (0 if unknown)."""
    if not duration or duration <= 0:
        return 0.0
    return min(1.0, duration * 0.1)


def make_thumbnail(ffmpeg: FFmpeg, path: Path | str, *, at: float = 0.0,
                   size: int = THUMBNAIL_SIZE, timeout: float = THUMBNAIL_TIMEOUT) -> bytes:
    """One frame of ``path`` at ``at`` seconds as a JPEG that fits in ``size`` px, aspect kept.

    Never scales up. Raises :class:`MediaError` when ffmpeg produces no frame.
    """
    scale = (f"scale=w='min({size},iw)':h='min({size},ih)'"
             ":force_original_aspect_ratio=decrease")
    args = []
    if at > 0:
        args += ["-ss", f"{at:.3f}"]  # before -i: seek in the input, decode one frame
    args += ["-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-an", "-sn", "-dn",
             "-vf", scale, "-c:v", "mjpeg", "-q:v", "4", "-f", "image2pipe", "pipe:1"]
    proc = ffmpeg.run(args, timeout=timeout)
    if not proc.stdout.startswith(b"\xff\xd8"):
        raise MediaError("ffmpeg produced no thumbnail frame")
    return proc.stdout
