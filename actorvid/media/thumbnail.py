"""JPEG thumbnails of images and video frames, made by ffmpeg."""

from __future__ import annotations

import struct
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


# The formats whose duration mp4_duration reads (the sniffer's names for ISO-BMFF files).
MP4_FORMATS = ("mp4", "mov")
_MVHD_SEARCH = 64 * 1024  # how far into a moov box its mvhd is looked for


def mp4_duration(path: Path | str) -> float | None:
    """An MP4/MOV's duration from its ``mvhd`` box, or None when it cannot be found (or
    is 0, as in fragmented files).

    Reads box headers and one small box, never the index itself (an upload's moov may claim
    any size), so a thumbnail's time can be chosen before ffmpeg first looks at the file.
    """
    try:
        with open(path, "rb") as handle:
            while header := handle.read(8):
                if len(header) < 8:
                    return None
                size, kind = struct.unpack(">I4s", header)
                head = 8
                if size == 1:
                    size = struct.unpack(">Q", handle.read(8))[0]
                    head = 16
                if size < head:
                    return None
                if kind == b"moov":
                    return _mvhd_duration(handle.read(min(size - head, _MVHD_SEARCH)))
                handle.seek(size - head, 1)
    except (OSError, struct.error):
        return None
    return None


def _mvhd_duration(moov: bytes) -> float | None:
    pos = 0
    while pos + 8 <= len(moov):
        size, kind = struct.unpack(">I4s", moov[pos:pos + 8])
        if size < 8:
            return None
        if kind == b"mvhd":
            body = moov[pos + 8:pos + size]
            if body[:1] == b"\1" and len(body) >= 32:
                scale, duration = struct.unpack(">IQ", body[20:32])
            elif len(body) >= 20:
                scale, duration = struct.unpack(">II", body[12:20])
            else:
                return None
            return duration / scale if scale and duration else None  # 0: fragmented
        pos += size
    return None
