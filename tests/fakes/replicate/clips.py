"""What the models make: a small real clip (or tone) of the shape and length the model would
make, generated once per shape with ffmpeg and copied into each prediction's output."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actorvid.domain.models import frame_size
from actorvid.media.output import FPS, TV_BT709, output_args, shot_encoder_args
from tests.fakes.media import MediaCache, make_audio, make_video
from tests.fakes.media import ffmpeg as media_ffmpeg
from tests.fakes.replicate.models import REGISTRY


def png_size(uri: Any) -> tuple[int, int] | None:
    """Width and height of a PNG sent as a ``data:`` URI (from its IHDR chunk), else None."""
    if not isinstance(uri, str) or not uri.startswith("data:image/png;base64,"):
        return None
    head = base64.b64decode(uri.split(",", 1)[1][:44] + "==")
    if len(head) < 24 or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def output_size(data: dict[str, Any]) -> tuple[int, int]:
    """A small clip of the shape the model would make: Veo follows ``aspect_ratio``; Hailuo-02
    has no aspect input and follows its first frame (a PNG's own shape, 16:9 otherwise)."""
    if "aspect_ratio" in data or "first_frame_image" not in data:
        return (72, 128) if data.get("aspect_ratio") == "9:16" else (128, 72)
    size = png_size(data["first_frame_image"])
    if size is None or size[0] > size[1]:
        return 128, 72
    return (72, 128) if size[1] > size[0] else (96, 96)


def conforming_clip(data: dict[str, Any], duration: int) -> tuple[str, Callable[[Path], Path]]:
    """A clip as a well-behaved model would deliver it for our output format: the job's
    720p frame at 30 fps, H.264 encoded the way our shots are (no B-frames, tv-range BT.709,
    the same SPS/PPS), so it becomes a shot by a remux (``actorvid.media.shots.conforms``).
    The (file name, maker) pair for the media cache. Used by the load benchmark."""
    w, h = output_size(data)
    ratio = "16:9" if w > h else "9:16" if h > w else "1:1"
    width, height = frame_size("720p", ratio)

    def maker(path: Path) -> Path:
        media_ffmpeg().run(["-f", "lavfi", "-i",
                            f"testsrc2=size={width}x{height}:rate={FPS}:duration={duration},"
                            f"{TV_BT709}", *shot_encoder_args(), *output_args(path)])
        return path

    return f"output-{duration}s-{width}x{height}-conforming.mp4", maker


def _small_clip(duration: int, width: int, height: int) -> Callable[[Path], Path]:
    def maker(path: Path) -> Path:
        return make_video(path, duration=duration, width=width, height=height)
    return maker


def make_output(media: MediaCache, model: str, data: dict[str, Any], dest_dir: Path, *,
                conforming: bool = False) -> Path:
    """The output file of a ``model`` prediction with input ``data``, made in ``dest_dir``
    (``conforming``: a clip already in our output format, see :func:`conforming_clip`)."""
    if REGISTRY[model].output == "video":
        duration = int(data.get("duration") or (8 if "veo" in model else 6))
        w, h = output_size(data)
        if conforming:
            name, maker = conforming_clip(data, duration)
        else:
            name, maker = f"output-{duration}s-{w}x{h}.mp4", _small_clip(duration, w, h)
    else:
        duration = int(data.get("duration") or 8)
        name = f"output-{duration}s.{data.get('output_format', 'wav')}"

        def maker(path: Path) -> Path:
            return make_audio(path, duration=duration)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return media.copy_to(name, maker, dest_dir / name)
