"""Stitch clips into one consistent MP4, and mux a soundtrack without ever cutting the video.

Clips from different models (or the local renderer) differ in size, frame rate and whether
they carry audio; each becomes a shot in the output format first (``actorvid.media.shots``),
and the shots are joined by stream copy. The soundtrack mux copies the picture and encodes
only the sound: the music under the clips' own sound, at −16 LUFS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.domain.creative import DEFAULT_MUSIC_VOLUME, Transition
from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.output import (
    MUSIC_FADE_IN,
    MUSIC_FADE_OUT,
    audio_encoder_args,
    audio_format_filter,
    loudness_filter,
    measure_loudness,
    output_args,
)
from actorvid.media.shots import join_shots, normalise_shot


@dataclass(frozen=True)
class StitchResult:
    path: Path
    duration: float
    width: int
    height: int


def stitch(ffmpeg: FFmpeg, clips: Sequence[Path], output: Path, *, width: int, height: int,
           fit: str = "pad", transition: Transition = Transition(),
           timeout: float = 1800.0) -> StitchResult:
    """Concatenate ``clips`` in order into ``output`` at ``width``×``height``: each is
    normalised into a shot (:func:`~actorvid.media.shots.normalise_shot`), then the shots are
    joined by copy (:func:`~actorvid.media.shots.join_shots`). For clips stored without a
    shot; a job's finish joins the shots made as its clips arrived."""
    if not clips:
        raise MediaError("There are no clips to stitch")
    shots = [normalise_shot(ffmpeg, clip, output.parent / f"{output.stem}_shot{i:03d}.mp4",
                            width=width, height=height, fit=fit, transition=transition,
                            timeout=timeout)
             for i, clip in enumerate(clips)]
    joined = join_shots(ffmpeg, shots, output, transition=transition, timeout=timeout)
    return StitchResult(output, joined.duration, width, height)


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
                   fade_out: float = MUSIC_FADE_OUT, volume: float = DEFAULT_MUSIC_VOLUME,
                   timeout: float = 1800.0) -> Path:
    """Lay ``music`` under ``video``'s own sound: faded in at 0, faded out to end exactly at the
    last frame, at ``volume`` (0–1) under the clips' sound, the mix at −16 LUFS integrated with
    a true peak under −1 dBTP.

    The music is looped if short and cut if long; the picture is copied untouched, so the
    output has exactly the video's length (no ``-shortest`` cutting the video to the music).
    The loudness is measured on the mix first, then one gain is applied (two passes): with
    silent clips the music level cancels out and the result is the music at −16 LUFS.
    """
    music_in = ["-stream_loop", "-1", "-i", str(music)]
    seconds = f"{video_duration:.3f}"
    shaped = (f"[1:a]{audio_format_filter()},"
              f"atrim=duration={seconds},apad,atrim=duration={seconds},"
              f"{fades(video_duration, fade_in, fade_out)},volume={volume:.4f}[music];"
              f"[0:a]{audio_format_filter()},apad,atrim=duration={seconds}[clips];"
              f"[clips][music]amix=inputs=2:duration=first:normalize=0[a]")
    inputs = ["-i", str(video), *music_in]
    measured = measure_loudness(ffmpeg, inputs, shaped, timeout=timeout)
    graph = f"{shaped};[a]{loudness_filter(measured)}[mix]"
    ffmpeg.run([
        *inputs, "-filter_complex", graph, "-map", "0:v:0", "-map", "[mix]",
        "-c:v", "copy", *audio_encoder_args(),
        "-t", seconds, *output_args(output),
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
