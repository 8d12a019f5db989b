"""What the models make: a small real clip (or tone) of the shape and length the model would
make, generated once per shape with ffmpeg and copied into each prediction's output."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.fakes.media import MediaCache, make_audio, make_video
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



def make_output(media: MediaCache, model: str, data: dict[str, Any], dest_dir: Path) -> Path:
    """The output file of a ``model`` prediction with input ``data``, made in ``dest_dir``."""
    if REGISTRY[model].output == "video":
        duration = int(data.get("duration") or (8 if "veo" in model else 6))
        w, h = output_size(data)
        name = f"output-{duration}s-{w}x{h}.mp4"

        def maker(path: Path) -> Path:
            return make_video(path, duration=duration, width=w, height=h)
    else:
        duration = int(data.get("duration") or 8)
        name = f"output-{duration}s.{data.get('output_format', 'wav')}"

        def maker(path: Path) -> Path:
            return make_audio(path, duration=duration)
    dest_dir.mkdir(parents=True, exist_ok=True)
    return media.copy_to(name, maker, dest_dir / name)
