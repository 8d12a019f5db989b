"""Probing uploads: :meth:`FFmpeg.probe` plus the tiny frames its parser misses.

``parse_probe_output`` wants two-digit sizes (so codec tags like ``0x31637661`` never read as a
size), which makes a 1×1 tracking pixel or a 3×1 strip "not media". Here a video line without
a size match is parsed again with a stricter pattern that accepts one-digit sizes but needs a
delimiter after them.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

from actorvid.errors import MediaError
from actorvid.media.ffmpeg import STDERR_TAIL, FFmpeg, MediaInfo, parse_probe_output

_VIDEO_LINE = re.compile(r"Stream #\S+.*?: Video: (\w+)")
_SIZE = re.compile(r"(?:, |\s)(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")


def probe_media(ffmpeg: FFmpeg, path: Path | str, *, timeout: float = 60.0) -> MediaInfo:
    """Like :meth:`FFmpeg.probe`, but reads video sizes of any number of digits."""
    cmd = [ffmpeg.binary, "-hide_banner", "-nostdin", "-i", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise MediaError("ffmpeg took too long to read the file") from None
    except OSError as exc:
        raise MediaError(f"ffmpeg could not be started ({exc.strerror})") from None
    text = proc.stderr.decode("utf-8", "replace")
    info = parse_probe_output(text)
    if info.video_codec is None:
        for line in text.splitlines():
            video = _VIDEO_LINE.search(line)
            size = _SIZE.search(line, video.end()) if video else None
            if video and size and "attached pic" not in line:
                info = replace(info, video_codec=video.group(1), width=int(size.group(1)),
                               height=int(size.group(2)))
                break
    if not info.has_video and not info.has_audio:
        raise MediaError("The file is not a readable media file",
                         stderr_tail=text[-STDERR_TAIL:])
    return info
