"""ffmpeg, called as a binary. No wrapper library.

The binary is found as ``spec/product.md`` says: ``ACTORVID_FFMPEG``, else ``ffmpeg`` on PATH,
else the static binary the ``imageio-ffmpeg`` wheel ships. That wheel carries no ``ffprobe``, so
probing reads ``ffmpeg -i`` output instead of depending on a second binary.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.errors import MediaError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0
STDERR_TAIL = 2000


def find_ffmpeg(configured: str = "") -> str:
    """Return the path of the ffmpeg binary to use, or raise :class:`MediaError`."""
    configured = configured or os.environ.get("ACTORVID_FFMPEG", "")
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        found = shutil.which(configured)
        if found:
            return found
        raise MediaError("The configured ffmpeg binary was not found")
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise MediaError("ffmpeg was not found") from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        raise MediaError("ffmpeg was not found") from None


@dataclass(frozen=True)
class FFmpeg:
    """A located ffmpeg binary and how to run it."""

    binary: str

    @classmethod
    def locate(cls, configured: str = "") -> FFmpeg:
        return cls(find_ffmpeg(configured))

    def run(self, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
            input_bytes: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run ``ffmpeg -hide_banner -nostdin <args>``; raise :class:`MediaError` on failure."""
        cmd = [self.binary, "-hide_banner", "-nostdin", *args]
        if input_bytes is not None:
            cmd.remove("-nostdin")
        try:
            proc = subprocess.run(
                cmd, input=input_bytes, capture_output=True, timeout=timeout, check=False,
                stdin=None if input_bytes is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            tail = (exc.stderr or b"")[-STDERR_TAIL:].decode("utf-8", "replace")
            raise MediaError("ffmpeg took too long", stderr_tail=tail) from None
        except OSError as exc:
            raise MediaError(f"ffmpeg could not be started ({exc.strerror})") from None
        if proc.returncode != 0:
            tail = proc.stderr[-STDERR_TAIL:].decode("utf-8", "replace")
            logger.debug("ffmpeg failed (%s): %s", proc.returncode, tail)
            raise MediaError("ffmpeg failed", stderr_tail=tail)
        return proc

    def popen(self, args: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start ``ffmpeg -hide_banner -nostdin <args>`` without waiting, so it can be killed.

        The caller reads the result with ``communicate()`` (stderr is piped, stdout discarded).
        """
        cmd = [self.binary, "-hide_banner", "-nostdin", "-loglevel", "error", *args]
        try:
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            raise MediaError(f"ffmpeg could not be started ({exc.strerror})") from None

    def probe(self, path: Path | str, *, timeout: float = 60.0) -> MediaInfo:
        """Read container duration, video size and stream kinds of a media file."""
        cmd = [self.binary, "-hide_banner", "-nostdin", "-i", str(path)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise MediaError("ffmpeg took too long to read the file") from None
        except OSError as exc:
            raise MediaError(f"ffmpeg could not be started ({exc.strerror})") from None
        # "-i" without an output always exits 1; a readable file still prints its streams.
        info = parse_probe_output(proc.stderr.decode("utf-8", "replace"))
        if not info.has_video and not info.has_audio:
            raise MediaError("The file is not a readable media file",
                             stderr_tail=proc.stderr[-STDERR_TAIL:].decode("utf-8", "replace"))
        return info


@dataclass(frozen=True)
class MediaInfo:
    duration: float | None
    width: int | None
    height: int | None
    video_codec: str | None
    audio_codec: str | None
    fps: float | None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+)")
# A size needs a delimiter after it, so codec tags like "0x31637661" never read as one, while a
# 1x1 tracking pixel still does.
_SIZE = re.compile(r"(?:, |\s)(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")


def parse_probe_output(text: str) -> MediaInfo:
    """Parse the stream summary ``ffmpeg -i`` prints to stderr."""
    duration = None
    match = _DURATION.search(text)
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video_codec = width = height = fps = None
    for line in text.splitlines():
        video = _VIDEO.search(line)
        size = _SIZE.search(line, video.end()) if video else None
        if video and size and video_codec is None and "attached pic" not in line:
            video_codec = video.group(1)
            width, height = int(size.group(1)), int(size.group(2))
            fps_match = _FPS.search(line)
            fps = float(fps_match.group(1)) if fps_match else None
    audio = _AUDIO.search(text)
    return MediaInfo(duration, width, height, video_codec, audio.group(1) if audio else None, fps)
