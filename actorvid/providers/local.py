"""Offline providers: real output made with ffmpeg, no keys, no network.

The renderer and the music maker are :class:`PredictionService` s with Replicate's shape:
``create`` queues an ffmpeg job on a bounded pool and returns at once, ``get`` reports its
status, ``cancel`` kills the ffmpeg process, ``download`` streams the file. So the SceneActor's
create → poll → download cycle is the same offline and online.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actorvid.domain import models
from actorvid.errors import MediaError, ProviderError
from actorvid.media.audio import bed_args, style_for
from actorvid.media.render import DEFAULT_FPS, transition_args
from actorvid.media.textclip import text_clip_args, wrap
from actorvid.providers.base import (
    MusicInput,
    ReadBlob,
    RenderInput,
    inputs_from_dict,
)
from actorvid.providers.local_service import LocalPredictionService


class LocalRenderer(LocalPredictionService):
    """first frame → last frame: zoom on the first, crossfade into the second, at the size and
    duration asked (the model's nearest valid duration is the caller's business). Without
    frames, the prompt's words over a moving gradient of the input's background colour."""

    suffix = ".mp4"

    def __init__(self, read_blob: ReadBlob, *, fps: int = DEFAULT_FPS, preset: str = "veryfast",
                 **kwargs: object) -> None:
        super().__init__(read_blob, **kwargs)  # type: ignore[arg-type]
        self.fps = fps
        self.preset = preset

    def _check_inputs(self, inputs: RenderInput | MusicInput) -> None:
        if not isinstance(inputs, RenderInput):
            raise TypeError("LocalRenderer renders RenderInput only")
        if inputs.duration <= 0:
            raise ProviderError("A clip needs a positive duration", status=422)

    def _inputs(self, data: dict[str, Any]) -> RenderInput | MusicInput:
        return inputs_from_dict(data, RenderInput)

    def _args(self, inputs: RenderInput | MusicInput, workdir: Path, out: Path) -> list[str]:
        assert isinstance(inputs, RenderInput)
        width, height = models.frame_size(inputs.resolution, inputs.aspect_ratio)
        if inputs.first_frame is None:
            return self._text_args(inputs, workdir, out, width, height)
        first = self._materialize(inputs.first_frame, workdir, "first")
        last = self._materialize(inputs.last_frame or inputs.first_frame, workdir, "last")
        for path in (first, last):
            # An undecodable still with "-loop 1" makes ffmpeg retry forever: refuse it first.
            if not self._ffmpeg.probe(path, timeout=30).has_video:
                raise MediaError("An input image is not a readable image")
        return transition_args(first, last, out, duration=float(inputs.duration), width=width,
                               height=height, fps=self.fps, preset=self.preset)

    def _text_args(self, inputs: RenderInput, workdir: Path, out: Path, width: int,
                   height: int) -> list[str]:
        """A text-to-video clip: the prompt, wrapped to the frame, over the brand colour."""
        text = workdir / "text.txt"
        text.write_text(wrap(inputs.prompt, width=max(16, width // 34)), encoding="utf-8")
        return text_clip_args(text, out, color=inputs.background, duration=float(
            inputs.duration), width=width, height=height, fps=self.fps, preset=self.preset)


class LocalMusic(LocalPredictionService):
    """A synthesised bed per scene type (own key and tempo), of the requested duration."""

    suffix = ".mp3"
    kind = "music"

    def _check_inputs(self, inputs: RenderInput | MusicInput) -> None:
        if not isinstance(inputs, MusicInput):
            raise TypeError("LocalMusic makes MusicInput only")
        if inputs.duration <= 0:
            raise ProviderError("Music needs a positive duration", status=422)

    def _inputs(self, data: dict[str, Any]) -> RenderInput | MusicInput:
        return inputs_from_dict(data, MusicInput)

    def _args(self, inputs: RenderInput | MusicInput, workdir: Path, out: Path) -> list[str]:
        assert isinstance(inputs, MusicInput)
        style = style_for(inputs.scene_type or inputs.prompt)
        return bed_args(out, duration=float(inputs.duration), style=style)
