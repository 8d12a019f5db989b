"""Small real media files made with ffmpeg, for fakes and tests (no Pillow)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from actorvid.media.ffmpeg import FFmpeg

_lock = threading.Lock()
_ffmpeg: FFmpeg | None = None


def ffmpeg() -> FFmpeg:
    global _ffmpeg
    with _lock:
        if _ffmpeg is None:
            _ffmpeg = FFmpeg.locate()
        return _ffmpeg


def make_image(path: Path, *, width: int = 320, height: int = 180, color: str = "red",
               pattern: bool = True) -> Path:
    """A still image (format by suffix: .png or .jpg) with a test pattern or a flat colour."""
    source = (f"testsrc2=size={width}x{height}:rate=1" if pattern
              else f"color=c={color}:size={width}x{height}:rate=1")
    ffmpeg().run(["-f", "lavfi", "-i", source, "-frames:v", "1", "-y", str(path)])
    return path


def make_video(path: Path, *, duration: float, width: int, height: int, fps: int = 12) -> Path:
    ffmpeg().run([
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={duration}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", "-y", str(path)])
    return path


def make_audio(path: Path, *, duration: float, frequency: int = 440) -> Path:
    """A sine tone; mp3 or wav by suffix."""
    codec = ["-c:a", "libmp3lame", "-b:a", "64k"] if path.suffix == ".mp3" else []
    ffmpeg().run(["-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={duration}",
                  *codec, "-y", str(path)])
    return path


class MediaCache:
    """Generates each (kind, parameters) file once and hands out copies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def copy_to(self, key: str, make: Callable[[Path], Path], dest: Path) -> Path:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        cached = self.root / key
        with lock:
            if not cached.exists():
                # Keep the suffix: ffmpeg picks the format by it.
                tmp = cached.with_name("tmp-" + cached.name)
                make(tmp)
                tmp.rename(cached)
        shutil.copyfile(cached, dest)
        return dest
