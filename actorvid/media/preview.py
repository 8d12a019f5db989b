"""The preview's cut (issue 19): shots joined as the final video joins them, a discreet
"PREVIEW" mark, and a music bed — small and fast, never a deliverable.

:func:`compose` is the one place that decides how a preview is assembled, so it composes the
same pieces the finish step does: :func:`~actorvid.media.stitch.stitch` (each shot normalised
and joined by :func:`~actorvid.media.shots.join_shots` with the job's fit and transition, as
the finish step joins its shots) and :func:`~actorvid.media.stitch.mux_soundtrack`. Still to
connect when issue 18 lands (see the TODO): the title/end cards and the bundled font.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actorvid.domain.creative import CreativeOptions
from actorvid.errors import MediaError
from actorvid.media.cards import FONT_FILES
from actorvid.media.ffmpeg import DEFAULT_TIMEOUT, FFmpeg
from actorvid.media.output import output_args, video_encoder_args
from actorvid.media.stitch import mux_soundtrack, stitch

PREVIEW_SHORT_SIDE = 360
PREVIEW_FPS = 15  # shots are rendered at 15 fps; the cut is 30 fps like every output
PREVIEW_RESOLUTION = f"{PREVIEW_SHORT_SIDE}p"


def preview_size(options: CreativeOptions) -> tuple[int, int]:
    """360p of the job's ratio: 640×360, 360×640 or 360×360 (both sides even)."""
    width, height = options.frame_size()
    scale = PREVIEW_SHORT_SIDE / min(width, height)
    return int(round(width * scale / 2)) * 2, int(round(height * scale / 2)) * 2


def mark_filter(width: int, height: int, font: Path = FONT_FILES["bold"]) -> str:
    """The discreet "PREVIEW" mark, bottom right, in the packaged font (the same on every
    machine)."""
    margin = max(4, height // 30)
    size = max(10, height // 18)
    return (f"drawtext=fontfile='{font}':text=PREVIEW:fontsize={size}"
            f":fontcolor=white@0.7:box=1:boxcolor=black@0.35:boxborderw={size // 4}"
            f":x=w-tw-{margin}:y=h-th-{margin}")


def compose(ffmpeg: FFmpeg, shots: Sequence[Path], output: Path, *, options: CreativeOptions,
            music: Path, workdir: Path, timeout: float = 600.0) -> float:
    """Assemble the preview from ``shots`` (in storyboard order) into ``output``; return its
    duration, which is the final video's for the same shots and options.

    The title and end cards come in ``shots`` already (drawn by the pipeline as the finish
    step draws them), so the cut, the transitions and the length are the final video's.
    """
    width, height = preview_size(options)
    joined = stitch(ffmpeg, shots, workdir / "joined.mp4", width=width, height=height,
                    fit=options.fit, transition=options.transition, timeout=timeout)
    marked = workdir / "marked.mp4"
    # The shots' own sound (silence from the local renderer) is copied: the music goes under it.
    ffmpeg.run(["-i", str(joined.path), "-map", "0:v:0", "-map", "0:a:0",
                "-vf", mark_filter(width, height),
                *video_encoder_args(preset="veryfast", crf=26), "-c:a", "copy",
                *output_args(marked)], timeout=timeout)
    mux_soundtrack(ffmpeg, marked, music, output, video_duration=joined.duration,
                   volume=options.music_volume, timeout=timeout)
    return joined.duration


class PreviewCancelled(MediaError):
    """The preview being made was cancelled (its storyboard changed, or the job ended)."""

    def __init__(self) -> None:
        super().__init__("The preview was cancelled")


class CancelToken:
    """Cancels one preview render: kills the ffmpeg child running now and tells whatever else
    registered (a local prediction to cancel). Thread-safe; cancelling twice is harmless."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._hooks: list[Callable[[], object]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            # A hook that fails (a process already gone) must not keep the others from running.
            with contextlib.suppress(Exception):
                hook()

    def on_cancel(self, hook: Callable[[], object]) -> None:
        """Run ``hook`` on cancel (at once when already cancelled)."""
        with self._lock:
            if not self._cancelled:
                self._hooks.append(hook)
                return
        hook()

    def watch(self, process: subprocess.Popen[bytes]) -> None:
        self.on_cancel(process.kill)

    def check(self) -> None:
        if self._cancelled:
            raise PreviewCancelled


@dataclass(frozen=True)
class CancellableFFmpeg(FFmpeg):
    """An :class:`FFmpeg` whose every child is killed when ``token`` is cancelled, so the
    stitch and mux functions (which take no process hook) stop within a moment too."""

    token: CancelToken = field(default_factory=CancelToken, compare=False, repr=False)

    def run(self, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
            input_bytes: bytes | None = None,
            on_process: Callable[[subprocess.Popen[bytes]], None] | None = None
            ) -> subprocess.CompletedProcess[bytes]:
        self.token.check()
        try:
            return super().run(args, timeout=timeout, input_bytes=input_bytes,
                               on_process=self.token.watch)
        except MediaError:
            self.token.check()  # killed by a cancel: say so, not "ffmpeg failed"
            raise
