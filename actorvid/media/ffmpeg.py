"""ffmpeg, called as a binary. No wrapper library.

The binary is found in this order (the README's settings table): ``ACTORVID_FFMPEG``, else
``ffmpeg`` on PATH, else the static binary the ``imageio-ffmpeg`` wheel ships. That wheel
carries no ``ffprobe``, so probing reads ``ffmpeg -i`` output instead of depending on a second
binary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


class MediaBusy(MediaError):
    """No ffmpeg slot came free within the caller's wait."""


# Slot priorities: a lower number goes first. Paid work (finish steps, clip normalisation,
# uploads) runs at NORMAL; free previews at PREVIEW, so they only ever take a slot nobody
# else is waiting for.
PRIORITY_NORMAL = 0
PRIORITY_PREVIEW = 10
BACKGROUND_NICE = 19  # the CPU niceness of ffmpeg children below PRIORITY_NORMAL


class MediaSlots:
    """The one bound on ffmpeg processes of a process: at most ``limit`` at any moment.

    Every ffmpeg child — an upload's probe and thumbnail, a local render, a stitch, a mux —
    holds a slot for exactly as long as it runs, whoever started it, so
    ``ACTORVID_MEDIA_WORKERS=2`` means two ffmpeg processes, not two per pool.

    A freed slot goes to a waiter of the most urgent ``priority`` (lowest number) first, so a
    finish step waiting behind previews gets the next free slot before any of them. And a
    less urgent caller never takes the last free slot (when there is more than one), so paid
    work that arrives while previews run finds a slot at once instead of waiting for a
    preview's ffmpeg to end.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._busy = 0
        self._waiters: dict[int, int] = {}  # priority -> callers waiting at it
        self._changed = threading.Condition(threading.Lock())

    def _may_take(self, priority: int) -> bool:
        room = self.limit if priority <= PRIORITY_NORMAL or self.limit == 1 else self.limit - 1
        return self._busy < room and not any(
            count for level, count in self._waiters.items() if level < priority)

    def acquire(self, timeout: float | None = None, *, priority: int = PRIORITY_NORMAL) -> bool:
        with self._changed:
            self._waiters[priority] = self._waiters.get(priority, 0) + 1
            try:
                if not self._changed.wait_for(lambda: self._may_take(priority), timeout):
                    return False
                self._busy += 1
                return True
            finally:
                self._waiters[priority] -= 1
                # A waiter leaving (served or timed out) may unblock less urgent ones.
                self._changed.notify_all()

    def release(self) -> None:
        with self._changed:
            if self._busy <= 0:
                raise ValueError("MediaSlots released more often than acquired")
            self._busy -= 1
            self._changed.notify_all()

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot (the metrics' queue length)."""
        with self._changed:
            return sum(self._waiters.values())


ProcessHook = Callable[[subprocess.Popen[bytes]], None]


@dataclass(frozen=True)
class FFmpeg:
    """A located ffmpeg binary and how to run it (within ``slots``, when given)."""

    binary: str
    slots: MediaSlots | None = field(default=None, compare=False, repr=False)
    # How long a caller waits for a free slot before giving up (MediaError "busy").
    slot_wait: float | None = field(default=None, compare=False, repr=False)
    # Where its children queue for a slot (MediaSlots: lower goes first).
    priority: int = field(default=PRIORITY_NORMAL, compare=False, repr=False)

    @classmethod
    def locate(cls, configured: str = "", *, slots: MediaSlots | None = None) -> FFmpeg:
        return cls(find_ffmpeg(configured), slots)

    def waiting_at_most(self, seconds: float) -> FFmpeg:
        """The same binary and slots, for a caller that must not wait longer for a slot."""
        return FFmpeg(self.binary, self.slots, seconds, self.priority)

    def at_priority(self, priority: int) -> FFmpeg:
        """The same binary and slots, queueing for a slot at ``priority``."""
        return FFmpeg(self.binary, self.slots, self.slot_wait, priority)

    def _communicate(self, cmd: list[str], *, timeout: float, input_bytes: bytes | None,
                     on_process: ProcessHook | None) -> tuple[int, bytes, bytes]:
        slots = self.slots
        if slots is not None and not slots.acquire(timeout=self.slot_wait,
                                                   priority=self.priority):
            raise MediaBusy("Media processing is busy; try again")
        try:
            try:
                proc = subprocess.Popen(
                    cmd, stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as exc:
                raise MediaError(f"ffmpeg could not be started ({exc.strerror})") from None
            if self.priority > PRIORITY_NORMAL:
                # Less urgent work also yields the CPU: a preview's ffmpeg running beside a
                # finish step gets what the finish step leaves (nice 19), not half the cores.
                with contextlib.suppress(OSError, AttributeError):
                    os.setpriority(os.PRIO_PROCESS, proc.pid, BACKGROUND_NICE)
            if on_process is not None:
                on_process(proc)
            try:
                stdout, stderr = proc.communicate(input_bytes, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, stderr = proc.communicate()
                tail = stderr[-STDERR_TAIL:].decode("utf-8", "replace")
                raise MediaError("ffmpeg took too long", stderr_tail=tail) from None
            return proc.returncode, stdout, stderr
        finally:
            if slots is not None:
                slots.release()

    def run(self, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
            input_bytes: bytes | None = None, on_process: ProcessHook | None = None
            ) -> subprocess.CompletedProcess[bytes]:
        """Run ``ffmpeg -hide_banner -nostdin <args>``; raise :class:`MediaError` on failure.

        ``on_process`` receives the child as soon as it starts, so a caller can kill it.
        """
        cmd = [self.binary, "-hide_banner", "-nostdin", *args]
        if input_bytes is not None:
            cmd.remove("-nostdin")
        code, stdout, stderr = self._communicate(cmd, timeout=timeout, input_bytes=input_bytes,
                                                 on_process=on_process)
        if code != 0:
            tail = stderr[-STDERR_TAIL:].decode("utf-8", "replace")
            logger.debug("ffmpeg failed (%s): %s", code, tail)
            raise MediaError("ffmpeg failed", stderr_tail=tail)
        return subprocess.CompletedProcess(cmd, code, stdout, stderr)

    def probe(self, path: Path | str, *, timeout: float = 60.0) -> MediaInfo:
        """Read container duration, video size and stream kinds of a media file."""
        return self.probe_while(["-i", str(path)], timeout=timeout)[0]

    def probe_while(self, args: Sequence[str], *, timeout: float = 60.0
                    ) -> tuple[MediaInfo, subprocess.CompletedProcess[bytes]]:
        """Run ``ffmpeg <args>`` (one input) and read its input's streams from what it prints,
        however the run ends: a probe and some work on the same file (a thumbnail) for one
        process start. Raises :class:`MediaError` when the input is no readable media file;
        the caller checks the run's own outcome."""
        cmd = [self.binary, "-hide_banner", "-nostdin", *args]
        try:
            code, stdout, stderr = self._communicate(cmd, timeout=timeout, input_bytes=None,
                                                     on_process=None)
        except MediaError as exc:
            if exc.message == "ffmpeg took too long":
                raise MediaError("ffmpeg took too long to read the file") from None
            raise
        # "-i" without an output always exits 1; a readable file still prints its streams.
        info = parse_probe_output(stderr.decode("utf-8", "replace"))
        if not info.has_video and not info.has_audio:
            raise MediaError("The file is not a readable media file",
                             stderr_tail=stderr[-STDERR_TAIL:].decode("utf-8", "replace"))
        return info, subprocess.CompletedProcess(cmd, code, stdout, stderr)


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
