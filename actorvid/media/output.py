"""The one output format of a finished video, and the filters that bring any input to it.

Every final MP4 is H.264 High, ``yuv420p`` in limited (tv) range tagged BT.709, a constant
30 fps, AAC-LC 48 kHz stereo, with the index at the front (``+faststart``) — what web players
and social platforms expect. Whatever writes a deliverable (today the stitcher, later a per-clip
normaliser whose outputs are concatenated by stream copy) takes its filters and encoder
arguments from here, so the outputs agree bit-for-bit on format and can be joined losslessly.

Loudness: a soundtrack is brought to −16 LUFS integrated (EBU R128, the web-video norm) with a
true peak at most −1 dBTP, in two passes — measure with ``loudnorm``, then apply the measured
values in linear mode (one gain for the whole track, so the music's dynamics survive; see
:func:`loudness_filter`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg

FPS = 30
SAMPLE_RATE = 48000
LOUDNESS_LUFS = -16.0
# Aim half a dB under the −1 dBTP ceiling: AAC encoding adds a few tenths of overshoot.
TRUE_PEAK_DBTP = -1.5
LOUDNESS_RANGE = 11.0
# A soundtrack fades in from the first frame and out to the last. 1.5 s out keeps the last
# second within 12 dB of the track's mean (a linear fade over the last 1.5 s averages −8 dB
# there; over 2 s it would be −11 dB, too close to the line).
MUSIC_FADE_IN = 1.0
MUSIC_FADE_OUT = 1.5
# The pixel format and the tags every output frame carries: tv range BT.709 yuv420p. (Set on
# the frames, not only as encoder options: libx264 writes what the frames say.)
TV_BT709 = ("format=yuv420p,"
            "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709")


def video_filter(width: int, height: int, fit: str = "pad") -> str:
    """Any picture → ``width``×``height``, never stretched: ``pad`` fits it inside and fills the
    rest with black, ``crop`` scales it to fill and crops the centre; tv-range BT.709
    ``yuv420p`` at a constant :data:`FPS`.

    ``in_range=auto`` reads the source's tag, so full-range JPEG stills (``yuvj420p``) are
    squeezed into 16–235 rather than merely relabelled.
    """
    scale = ":in_range=auto:out_range=tv:out_color_matrix=bt709:flags=bicubic"
    if fit == "crop":
        shape = (f"scale={width}:{height}:force_original_aspect_ratio=increase{scale},"
                 f"crop={width}:{height}")
    else:
        shape = (f"scale={width}:{height}:force_original_aspect_ratio=decrease{scale},"
                 f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black")
    return f"{shape},setsar=1,fps={FPS},{TV_BT709}"


def audio_format_filter() -> str:
    """Any audio → 48 kHz stereo float, the form every later audio filter expects."""
    return (f"aresample={SAMPLE_RATE},"
            f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo")


def video_encoder_args(*, preset: str = "veryfast", crf: int = 21, fps: int = FPS
                       ) -> list[str]:
    """H.264 High, yuv420p, tv range, BT.709 tags, constant frame rate."""
    return ["-c:v", "libx264", "-profile:v", "high", "-preset", preset, "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
            "-color_trc", "bt709", "-color_range", "tv", "-r", str(fps), "-fps_mode", "cfr"]


# Audio samples per video frame (48000 / 30): a shot's sound is exactly this many samples per
# frame, so sound and picture of every shot end together.
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS
# The MP4 time base of every picture track (mp4's own default at 30 fps, stated so shots and
# transition pieces always agree and their packets can be copied into one track).
VIDEO_TIMESCALE = FPS * 512


def shot_encoder_args(keyframes: Sequence[int] = (), *, crf: int = 21) -> list[str]:
    """The encoder of a normalised shot (and of a transition piece): the output's H.264, plus
    what lets shots be joined by stream copy.

    - no B-frames: decode order is display order, so any prefix of a shot is a whole picture
      sequence and the concat demuxer's out points cut cleanly at any frame;
    - ``stitchable``: x264 writes the same SPS/PPS for every shot, so one ``avcC`` fits all;
    - IDR frames forced at ``keyframes`` (frame numbers): a copied part may begin there (the
      frame after a transition window).

    ``crf`` sets the quality only (not the SPS/PPS), so shots of another quality still join.
    """
    args = [*video_encoder_args(crf=crf), "-bf", "0", "-x264-params", "stitchable=1",
            "-video_track_timescale", str(VIDEO_TIMESCALE)]
    if keyframes:
        expr = "+".join(f"eq(n,{k})" for k in sorted(set(keyframes)))
        args += ["-force_key_frames", f"expr:{expr}", "-forced-idr", "1"]
    return args


def audio_encoder_args(*, bitrate: str = "192k") -> list[str]:
    """AAC-LC, 48 kHz, stereo. The ``fast`` coder: at 192 kb/s it sounds the same as the
    default ``twoloop`` and encodes in half the time (measured 1.9 s vs 3.7 s of CPU for 56 s
    of stereo on the loaded 2-core machine) — the sound is the one thing the finish encodes."""
    return ["-c:a", "aac", "-profile:a", "aac_low", "-aac_coder", "fast", "-b:a", bitrate,
            "-ar", str(SAMPLE_RATE), "-ac", "2"]


def container_args() -> list[str]:
    """MP4 with the index first, so playback starts before the download ends."""
    return ["-movflags", "+faststart"]


@dataclass(frozen=True)
class Loudness:
    """What the first ``loudnorm`` pass measured."""

    integrated: float
    true_peak: float
    lra: float
    threshold: float
    offset: float


_JSON = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)


def parse_loudnorm(stderr: str) -> Loudness:
    """The JSON block ``loudnorm=print_format=json`` prints at the end of a run."""
    match = _JSON.search(stderr)
    if not match:
        raise MediaError("The loudness could not be measured")
    data = json.loads(match.group(0))
    try:
        values = [float(data[k]) for k in ("input_i", "input_tp", "input_lra", "input_thresh",
                                            "target_offset")]
    except ValueError:  # "-inf": a silent track has no loudness to match
        raise MediaError("The track is silent; its loudness cannot be matched") from None
    return Loudness(*values)


def _loudnorm(extra: str = "") -> str:
    return (f"loudnorm=I={LOUDNESS_LUFS}:TP={TRUE_PEAK_DBTP}:LRA={LOUDNESS_RANGE}"
            f"{extra}")


def measure_loudness(ffmpeg: FFmpeg, inputs: Sequence[str], chain: str, *,
                     keep: Path | None = None, timeout: float = 600.0) -> Loudness:
    """Run ``chain`` (a filter graph ending in ``[a]``) and measure its loudness.

    With ``keep``, the same run also writes what it measured to that file as 32-bit float
    PCM (WAV), so the second pass reads the finished mix instead of building it again.
    """
    measure = _loudnorm(":print_format=json")
    if keep is None:
        tail = f"[a]{measure}[m]"
        kept: list[str] = []
    else:
        tail = f"[a]asplit=2[k][l];[l]{measure}[m]"
        kept = ["-map", "[k]", "-c:a", "pcm_f32le", "-y", str(keep)]
    proc = ffmpeg.run([*inputs, "-filter_complex", f"{chain};{tail}", *kept,
                       "-map", "[m]", "-f", "null", "-"], timeout=timeout)
    return parse_loudnorm(proc.stderr.decode("utf-8", "replace"))


def linear_gain(measured: Loudness) -> float | None:
    """The one gain (dB) that brings the track to −16 LUFS, or None when it would push the
    true peak over the ceiling (or the track is too quiet to gate) — ``loudnorm``'s own test
    for its linear mode."""
    gain = LOUDNESS_LUFS - measured.integrated
    if measured.threshold <= -70.0 or measured.true_peak + gain > TRUE_PEAK_DBTP:
        return None
    return gain


def loudness_filter(measured: Loudness) -> str:
    """The second pass: one gain to −16 LUFS (linear), at 48 kHz.

    Where one gain keeps the true peak under the ceiling this is a plain ``volume`` filter:
    it is what ``loudnorm``'s linear mode applies, without its resampling to 192 kHz and back
    (most of its cost). Otherwise ``loudnorm`` in its dynamic mode, which holds the peak limit.
    """
    gain = linear_gain(measured)
    if gain is not None:
        return f"volume={gain:.3f}dB,{audio_format_filter()}"
    return (_loudnorm(f":measured_I={measured.integrated}:measured_TP={measured.true_peak}"
                      f":measured_LRA={measured.lra}:measured_thresh={measured.threshold}"
                      f":offset={measured.offset}:linear=true")
            + f",{audio_format_filter()}")


def output_args(path: Path) -> list[str]:
    return [*container_args(), "-y", str(path)]
