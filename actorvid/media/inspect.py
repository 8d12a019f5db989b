"""Measuring a finished video the way a viewer meets it: streams, loudness, silences, motion.

Everything is read with the one ffmpeg binary (the ``imageio-ffmpeg`` wheel has no ffprobe):
stream parameters from ``ffmpeg -i``, the rest from analysis filters run into ``-f null``. The
tests, the benchmark and ``actorvid demo --check`` use these, so "the output passes" means the
same thing everywhere; :func:`problems` lists what breaks the output specification
(``docs/output.md``).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.output import FPS, LOUDNESS_LUFS, MUSIC_FADE_OUT, SAMPLE_RATE

SILENCE_DB = -50.0  # quieter than this counts as silence
LONGEST_SILENCE = 0.3
DURATION_TOLERANCE = 0.05
LOUDNESS_TOLERANCE = 1.0
TRUE_PEAK_LIMIT = -1.0
LAST_SECOND_RANGE = 12.0  # dB the last second may sit under the track's mean level


def _run(ffmpeg: FFmpeg, args: Sequence[str], timeout: float = 600.0) -> str:
    """stderr of an analysis run (no slots: a check never competes with a job's ffmpeg)."""
    proc = subprocess.run([ffmpeg.binary, "-hide_banner", "-nostdin", *args],
                          capture_output=True, timeout=timeout, check=False)
    return proc.stderr.decode("utf-8", "replace")


@dataclass(frozen=True)
class Streams:
    """The stream summary lines of ``ffmpeg -i``."""

    video: str
    audio: str


def streams(ffmpeg: FFmpeg, path: Path) -> Streams:
    text = _run(ffmpeg, ["-i", str(path)])
    video = next((line.strip() for line in text.splitlines() if ": Video: " in line), "")
    audio = next((line.strip() for line in text.splitlines() if ": Audio: " in line), "")
    return Streams(video, audio)


def stream_problems(info: Streams) -> list[str]:
    """What differs from H.264 High yuv420p tv BT.709 30 fps, AAC-LC 48 kHz stereo."""
    wanted_video = ("h264 (High)", "yuv420p(tv, bt709", f" {FPS} fps")
    wanted_audio = ("aac (LC)", f"{SAMPLE_RATE} Hz", "stereo")
    found = [f"video stream lacks {w!r}: {info.video}" for w in wanted_video
             if w not in info.video]
    found += [f"audio stream lacks {w!r}: {info.audio}" for w in wanted_audio
              if w not in info.audio]
    return found


def faststart(path: Path) -> bool:
    """True when the ``moov`` index comes before the media data (``+faststart``)."""
    with path.open("rb") as handle:
        while header := handle.read(8):
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:
                size = int.from_bytes(handle.read(8), "big") - 8
            handle.seek(size - 8, 1)
    return False


_TIME = re.compile(r"time=(\d+):(\d+):(\d+\.\d+)")


def stream_duration(ffmpeg: FFmpeg, path: Path, kind: str) -> float:
    """Decoded length of the first ``kind`` ("v" or "a") stream, in seconds."""
    text = _run(ffmpeg, ["-i", str(path), "-map", f"0:{kind}:0", "-f", "null", "-"])
    times = _TIME.findall(text)
    if not times:
        return 0.0
    hours, minutes, seconds = times[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    true_peak: float  # dBTP


def loudness(ffmpeg: FFmpeg, path: Path) -> Loudness:
    """EBU R128 integrated loudness and true peak (``ebur128`` summary)."""
    text = _run(ffmpeg, ["-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true",
                         "-f", "null", "-"])
    summary = text[text.rfind("Summary:"):]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    return Loudness(_number(integrated.group(1) if integrated else "-inf"),
                    _number(peak.group(1) if peak else "-inf"))


def _number(text: str) -> float:
    return float("-inf") if text == "-inf" else float(text)


def silences(ffmpeg: FFmpeg, path: Path, *, at_least: float = LONGEST_SILENCE
             ) -> list[tuple[float, float]]:
    """(start, end) of every stretch quieter than :data:`SILENCE_DB` for ``at_least`` s."""
    text = _run(ffmpeg, ["-i", str(path), "-map", "0:a:0",
                         "-af", f"silencedetect=n={SILENCE_DB}dB:d={at_least}",
                         "-f", "null", "-"])
    starts = [float(s) for s in re.findall(r"silence_start: (-?[\d.]+)", text)]
    ends = [float(e) for e in re.findall(r"silence_end: (-?[\d.]+)", text)]
    ends += [float("inf")] * (len(starts) - len(ends))
    return list(zip(starts, ends, strict=True))


def mean_volume(ffmpeg: FFmpeg, path: Path, *, start: float = 0.0,
                length: float | None = None) -> float:
    """Mean level (dBFS, ``volumedetect``) of the audio from ``start`` for ``length`` s."""
    window = ["-ss", f"{start:.3f}"] + (["-t", f"{length:.3f}"] if length else [])
    text = _run(ffmpeg, [*window, "-i", str(path), "-map", "0:a:0", "-af", "volumedetect",
                         "-f", "null", "-"])
    match = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", text)
    return _number(match.group(1)) if match else float("-inf")


def duplicated_frames(ffmpeg: FFmpeg, path: Path) -> int:
    """Frames ``mpdecimate`` (default thresholds) would drop as near-duplicates."""
    text = _run(ffmpeg, ["-i", str(path), "-map", "0:v:0", "-vf", "mpdecimate,showinfo",
                         "-f", "null", "-"])
    kept = len(re.findall(r"\] n:\s*\d+", text))
    return frame_count(ffmpeg, path) - kept


def frame_count(ffmpeg: FFmpeg, path: Path) -> int:
    text = _run(ffmpeg, ["-i", str(path), "-map", "0:v:0", "-f", "null", "-"])
    counts = re.findall(r"frame=\s*(\d+)", text)
    return int(counts[-1]) if counts else 0


def frame_change(ffmpeg: FFmpeg, path: Path) -> tuple[float, float]:
    """(mean, max) absolute luma change between consecutive frames, of 255."""
    text = _run(ffmpeg, ["-i", str(path), "-map", "0:v:0", "-vf",
                         "tblend=all_mode=difference,signalstats,"
                         "metadata=print:key=lavfi.signalstats.YAVG", "-f", "null", "-"])
    values = [float(v) for v in re.findall(r"YAVG=([\d.]+)", text)][1:]  # first: no previous
    if not values:
        return 0.0, 0.0
    return sum(values) / len(values), max(values)


def problems(ffmpeg: FFmpeg, path: Path, *, soundtrack: bool,
             fade_out: float = MUSIC_FADE_OUT
             ) -> list[str]:
    """Every way ``path`` breaks the output specification (empty: it passes).

    With ``soundtrack``: audio as long as the picture (± 50 ms), −16 ± 1 LUFS, true peak
    ≤ −1 dBTP, no silence over 0.3 s before the final fade, the last second within 12 dB of the
    track's mean level.
    """
    found = stream_problems(streams(ffmpeg, path))
    if not faststart(path):
        found.append("the index (moov) is not at the front of the file")
    video = stream_duration(ffmpeg, path, "v")
    audio = stream_duration(ffmpeg, path, "a")
    if abs(video - audio) > DURATION_TOLERANCE:
        found.append(f"audio lasts {audio:.3f} s but the picture {video:.3f} s")
    if not soundtrack:
        return found
    level = loudness(ffmpeg, path)
    if abs(level.integrated - LOUDNESS_LUFS) > LOUDNESS_TOLERANCE:
        found.append(f"integrated loudness {level.integrated} LUFS, not {LOUDNESS_LUFS} ± 1")
    if level.true_peak > TRUE_PEAK_LIMIT:
        found.append(f"true peak {level.true_peak} dBTP is over {TRUE_PEAK_LIMIT}")
    for start, end in silences(ffmpeg, path):
        if start < video - fade_out:
            found.append(f"silence from {start:.2f} s to {end:.2f} s")
    mean = mean_volume(ffmpeg, path)
    last = mean_volume(ffmpeg, path, start=max(0.0, video - 1.0))
    if last < mean - LAST_SECOND_RANGE:
        found.append(f"the last second is at {last} dB, the track's mean {mean} dB")
    return found
