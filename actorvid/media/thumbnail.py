"""JPEG thumbnails of images and video frames, made by ffmpeg."""

from __future__ import annotations

from pathlib import Path

from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg, MediaInfo

THUMBNAIL_SIZE = 256
THUMBNAIL_TIMEOUT = 60.0


def frame_time(duration: float | None) -> float:
    """Where to take a video's thumbnail: 1 s in, or 10% of a shorter clip (0 if unknown)."""
    if not duration or duration <= 0:
        return 0.0
    return min(1.0, duration * 0.1)


def _thumbnail_args(path: Path | str, at: float, size: int) -> list[str]:
    scale = (f"scale=w='min({size},iw)':h='min({size},ih)'"
             ":force_original_aspect_ratio=decrease")
    args = []
    if at > 0:
        args += ["-ss", f"{at:.3f}"]  # before -i: seek in the input, decode one frame
    return args + ["-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-an", "-sn", "-dn",
                   "-vf", scale, "-c:v", "mjpeg", "-q:v", "4", "-f", "image2pipe", "pipe:1"]


def _jpeg(stdout: bytes) -> bytes:
    if not stdout.startswith(b"\xff\xd8"):
        raise MediaError("ffmpeg produced no thumbnail frame")
    return stdout


def make_thumbnail(ffmpeg: FFmpeg, path: Path | str, *, at: float = 0.0,
                   size: int = THUMBNAIL_SIZE, timeout: float = THUMBNAIL_TIMEOUT) -> bytes:
    """One frame of ``path`` at ``at`` seconds as a JPEG that fits in ``size`` px, aspect kept.

    Never scales up. Raises :class:`MediaError` when ffmpeg produces no frame.
    """
    return _jpeg(ffmpeg.run(_thumbnail_args(path, at, size), timeout=timeout).stdout)


def probe_and_thumbnail(ffmpeg: FFmpeg, path: Path | str, *, at: float = 0.0,
                        size: int = THUMBNAIL_SIZE, timeout: float = THUMBNAIL_TIMEOUT
                        ) -> tuple[MediaInfo, bytes | MediaError]:
    """:meth:`FFmpeg.probe` and :func:`make_thumbnail` in one ffmpeg run (one process start
    instead of two, for an upload): the file's streams, and its thumbnail or why there is
    none. Raises :class:`MediaError` only when the file is no readable media file."""
    info, proc = ffmpeg.probe_while(_thumbnail_args(path, at, size), timeout=timeout)
    if proc.returncode != 0:
        tail = proc.stderr[-2000:].decode("utf-8", "replace")
        return info, MediaError("ffmpeg failed", stderr_tail=tail)
    try:
        return info, _jpeg(proc.stdout)
    except MediaError as exc:
        return info, exc
