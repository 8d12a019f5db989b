"""Stitch clips into one consistent MP4, and mux a soundtrack without ever cutting the video.

Clips from different models (or the local renderer) differ in size, frame rate and whether
they carry audio. The concat filter gets each one normalised first — scaled to fit the job's
frame and padded (never stretched), constant frame rate, yuv420p, stereo 48 kHz audio trimmed
or padded to the clip's own video length (silence where a clip has none) — so the output is
one H.264/AAC stream whose duration is the sum of the clips, with ``+faststart`` for the web.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg, MediaInfo
from actorvid.media.output import (
    MUSIC_FADE_IN,
    MUSIC_FADE_OUT,
    audio_encoder_args,
    audio_format_filter,
    loudness_filter,
    measure_loudness,
    output_args,
    video_encoder_args,
    video_filter,
)


@dataclass(frozen=True)
class StitchResult:
    path: Path
    duration: float
    width: int
    height: int


def _clip_filter(index: int, info: MediaInfo, width: int, height: int) -> str:
    duration = info.duration or 0.0
    video = (f"[{index}:v]{video_filter(width, height)},"
             f"trim=duration={duration:.3f},setpts=PTS-STARTPTS[v{index}]")
    if info.has_audio:
        audio = (f"[{index}:a]{audio_format_filter()},"
                 f"apad,atrim=duration={duration:.3f},asetpts=PTS-STARTPTS[a{index}]")
    else:
        audio = (f"anullsrc=r=48000:cl=stereo,atrim=duration={duration:.3f},"
                 f"{audio_format_filter()}[a{index}]")
    return f"{video};{audio}"


def stitch(ffmpeg: FFmpeg, clips: Sequence[Path], output: Path, *, width: int, height: int,
           timeout: float = 1800.0) -> StitchResult:
    """Concatenate ``clips`` in order into ``output`` at ``width``×``height``."""
    if not clips:
        raise MediaError("There are no clips to stitch")
    infos = [ffmpeg.probe(clip) for clip in clips]
    for clip, info in zip(clips, infos, strict=True):
        if not info.has_video or not info.duration:
            raise MediaError(f"Clip {clip.name} has no readable video")
    inputs: list[str] = []
    for clip in clips:
        inputs += ["-i", str(clip)]
    parts = [_clip_filter(i, info, width, height) for i, info in enumerate(infos)]
    joined = "".join(f"[v{i}][a{i}]" for i in range(len(clips)))
    graph = ";".join(parts) + f";{joined}concat=n={len(clips)}:v=1:a=1[vout][aout]"
    ffmpeg.run([
        *inputs, "-filter_complex", graph, "-map", "[vout]", "-map", "[aout]",
        *video_encoder_args(), *audio_encoder_args(), *output_args(output),
    ], timeout=timeout)
    result = ffmpeg.probe(output)
    return StitchResult(output, result.duration or 0.0, result.width or width,
                        result.height or height)


def video_thumbnail(ffmpeg: FFmpeg, video: Path, output: Path, *, duration: float,
                    width: int = 640) -> Path:
    """A JPEG frame at the smaller of 1 s and 10% of the duration (short clips get one too)."""
    at = max(0.0, min(1.0, duration * 0.1))
    ffmpeg.run(["-y", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
                "-vf", f"scale='min({width},iw)':-2", "-q:v", "3", str(output)], timeout=120)
    return output


def fades(duration: float, fade_in: float, fade_out: float) -> str:
    """Fade in from 0 and out to end exactly at ``duration`` (each at most half of it)."""
    fade_in = min(fade_in, duration / 2)
    fade_out = min(fade_out, duration / 2)
    return (f"afade=t=in:st=0:d={fade_in:.3f},"
            f"afade=t=out:st={max(0.0, duration - fade_out):.3f}:d={fade_out:.3f}")


def mux_soundtrack(ffmpeg: FFmpeg, video: Path, music: Path, output: Path, *,
                   video_duration: float, fade_in: float = MUSIC_FADE_IN,
                   fade_out: float = MUSIC_FADE_OUT,
                   timeout: float = 1800.0) -> Path:
    """Lay ``music`` under ``video``: faded in at 0, faded out to end exactly at the last frame,
    at −16 LUFS integrated with a true peak under −1 dBTP.

    The music is looped if short and cut if long; the picture is copied untouched, so the
    output has exactly the video's length (no ``-shortest`` cutting the video to the music).
    The loudness is measured on the faded track first, then one gain is applied (two passes).
    """
    music_in = ["-stream_loop", "-1", "-i", str(music)]
    shaped = (f"[{{n}}:a]{audio_format_filter()},"
              f"atrim=duration={video_duration:.3f},apad,atrim=duration={video_duration:.3f},"
              f"{fades(video_duration, fade_in, fade_out)}[a]")
    measured = measure_loudness(ffmpeg, music_in, shaped.format(n=0), timeout=timeout)
    graph = f"{shaped.format(n=1)};[a]{loudness_filter(measured)}[music]"
    ffmpeg.run([
        "-i", str(video), *music_in,
        "-filter_complex", graph, "-map", "0:v:0", "-map", "[music]",
        "-c:v", "copy", *audio_encoder_args(),
        "-t", f"{video_duration:.3f}", *output_args(output),
    ], timeout=timeout)
    return output


def join_audio(ffmpeg: FFmpeg, segments: Sequence[tuple[Path, float]], output: Path, *,
               crossfade: float, total: float, master: bool = False,
               timeout: float = 600.0) -> Path:
    """Join ``(file, seconds)`` segments into exactly ``total`` seconds of AAC.

    Each segment is cut to its planned length first (a model may make a little more), then
    consecutive segments are joined with ``crossfade``-second crossfades; the result is cut (or,
    only if the segments fall short, padded) to ``total``. With ``master`` (a track delivered
    on its own, not laid under a video) it also fades in and out and is brought to −16 LUFS,
    as :func:`mux_soundtrack` does for a video.
    """
    if not segments:
        raise MediaError("There are no audio segments to join")
    inputs: list[str] = []
    for path, _ in segments:
        inputs += ["-i", str(path)]
    norm = [f"[{i}:a]{audio_format_filter()},"
            f"apad,atrim=duration={seconds:.3f},asetpts=PTS-STARTPTS[s{i}]"
            for i, (_, seconds) in enumerate(segments)]
    chain = "[s0]"
    steps = []
    for i in range(1, len(segments)):
        out = f"[x{i}]"
        steps.append(f"{chain}[s{i}]acrossfade=d={crossfade:.3f}:c1=tri:c2=tri{out}")
        chain = out
    tail = f"{chain}apad,atrim=duration={total:.3f},asetpts=PTS-STARTPTS"
    if not master:
        graph = ";".join([*norm, *steps, f"{tail}[out]"])
    else:
        shaped = ";".join([*norm, *steps,
                           f"{tail},{fades(total, MUSIC_FADE_IN, MUSIC_FADE_OUT)}[a]"])
        measured = measure_loudness(ffmpeg, inputs, shaped, timeout=timeout)
        graph = f"{shaped};[a]{loudness_filter(measured)}[out]"
    ffmpeg.run([*inputs, "-filter_complex", graph, "-map", "[out]", *audio_encoder_args(),
                *output_args(output)], timeout=timeout)
    return output
