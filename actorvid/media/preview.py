"""The preview's cut (issue 19): shots joined as the final video joins them, a discreet
"PREVIEW" mark, and a music bed — small and fast, never a deliverable.

Speed (the preview should take at most a fifth of the final local render): the picture is
encoded once. The preview's renderer draws each photo shot at the preview's frame with a
lighter camera move (:data:`PREVIEW_SUPERSAMPLE`) at :data:`PREVIEW_FPS`, the mark drawn in
the same pass, written directly as a shot (``actorvid.media.shots``) with IDR frames where any
allowed transition may need one (:data:`PREVIEW_KEYFRAMES`). Cards (and a scene without
photos) become marked shots in :func:`preview_shot`. :func:`compose` then does what the finish
step does — :func:`~actorvid.media.stitch.score_shots`: the picture joined by copy with only
the transition windows encoded again, and the music laid under it — so the cut, the
transitions and the length are the final video's.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from actorvid.domain.creative import TRANSITION_SECONDS, CreativeOptions
from actorvid.errors import MediaError
from actorvid.media.cards import FONT_FILES
from actorvid.media.ffmpeg import DEFAULT_TIMEOUT, FFmpeg
from actorvid.media.output import FPS, output_args, video_encoder_args
from actorvid.media.shots import Shot, normalise_shot
from actorvid.media.stitch import score_shots

PREVIEW_SHORT_SIDE = 360
PREVIEW_FPS = 15  # the camera move is drawn at 15 fps; the cut is 30 fps like every output
PREVIEW_RESOLUTION = f"{PREVIEW_SHORT_SIDE}p"
# Sub-pixel steps of a preview's camera move: half the final's 4, a quarter of its pixels to
# scale per frame; at 360p and 15 fps every drawn frame still moves (tests/media/test_output).
PREVIEW_SUPERSAMPLE = 2
# IDR frames of a preview shot: every other frame over the windows of every allowed transition
# (0.25–1 s), so whichever transition the job has, a copied part starts at most one frame
# after its window (``join_shots`` encodes that frame with the window). Every frame would cost
# ~50 % more bytes per shot for one frame less to encode per join.
PREVIEW_KEYFRAMES = tuple(range(math.floor(TRANSITION_SECONDS[0] * FPS) // 2 * 2,
                                math.ceil(TRANSITION_SECONDS[1] * FPS) + 2, 2))


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


def preview_shot(ffmpeg: FFmpeg, clip: Path, output: Path, *, options: CreativeOptions,
                 timeout: float = 600.0) -> Shot:
    """A clip the renderer did not make as a marked shot (a card, a scene without photos) as
    one: the mark drawn over it, then normalised like any clip (its IDR frames those of the
    job's transition). Cards are a few seconds at 360p, so the two short encodes cost little."""
    width, height = preview_size(options)
    marked = output.with_name(f"{output.stem}_marked.mp4")
    # Cards and text clips are drawn at the preview's frame already (``preview_size``).
    ffmpeg.run(["-i", str(clip), "-map", "0:v:0", "-map", "0:a?",
                "-vf", mark_filter(width, height),
                *video_encoder_args(preset="ultrafast", crf=18), "-c:a", "copy",
                *output_args(marked)], timeout=timeout)
    try:
        return normalise_shot(ffmpeg, marked, output, width=width, height=height,
                              fit=options.fit, transition=options.transition, timeout=timeout)
    finally:
        marked.unlink(missing_ok=True)


def compose(ffmpeg: FFmpeg, shots: Sequence[Shot], output: Path, *, options: CreativeOptions,
            music: Path, timeout: float = 600.0) -> float:
    """Assemble the preview from ``shots`` (marked, in storyboard order, the cards among them)
    into ``output``; return its duration, which is the final video's for the same shots and
    options. The picture is copied but for the transition windows, the sound encoded once."""
    joined = score_shots(ffmpeg, shots, music, output, transition=options.transition,
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
