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
from actorvid.media.mp4index import is_silent
from actorvid.media.output import (
    MUSIC_FADE_IN,
    MUSIC_FADE_OUT,
    audio_encoder_args,
    audio_format_filter,
    loudness_filter,
    measure_loudness,
    output_args,
)
from actorvid.media.shots import (
    Joined,
    Shot,
    join_shots,
    normalise_shot,
    overlaps,
    sound_graph,
)
from actorvid.media.thumbnail import frame_time


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
    at = frame_time(duration)
    ffmpeg.run(["-y", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
                "-vf", f"scale='min({width},iw)':-2", "-q:v", "3", str(output)], timeout=120)
    return output


def fades(duration: float, fade_in: float, fade_out: float) -> str:
    """Fade in from 0 and out to end exactly at ``duration`` (each at most half of it)."""
    fade_in = min(fade_in, duration / 2)
    fade_out = min(fade_out, duration / 2)
    return (f"afade=t=in:st=0:d={fade_in:.3f},"
            f"afade=t=out:st={max(0.0, duration - fade_out):.3f}:d={fade_out:.3f}")


@dataclass(frozen=True)
class ClipSound:
    """The clips' own sound under a soundtrack: ``files`` as ffmpeg inputs 0…, and a filter
    graph over them ending in ``[clips]``."""

    files: tuple[Path, ...]
    graph: str


def mux_soundtrack(ffmpeg: FFmpeg, video: Path, music: Path, output: Path, *,
                   video_duration: float, fade_in: float = MUSIC_FADE_IN,
                   fade_out: float = MUSIC_FADE_OUT, volume: float = DEFAULT_MUSIC_VOLUME,
                   timeout: float = 1800.0) -> Path:
    """Lay ``music`` under ``video``'s own sound (:func:`lay_soundtrack`)."""
    return lay_soundtrack(ffmpeg, video, music, output, video_duration=video_duration,
                          sound=ClipSound((video,), "[0:a]anull[clips]"), fade_in=fade_in,
                          fade_out=fade_out, volume=volume, timeout=timeout)


# What a soundtrack is made of: one file (looped if short, cut if long), or the segments of a
# music chain as ``(file, seconds)`` joined with crossfades of ``Segments.crossfade``.
@dataclass(frozen=True)
class Segments:
    parts: tuple[tuple[Path, float], ...]
    crossfade: float


def score_shots(ffmpeg: FFmpeg, shots: Sequence[Shot], music: Path | Segments, output: Path, *,
                transition: Transition = Transition(), volume: float = DEFAULT_MUSIC_VOLUME,
                track: Path | None = None, timeout: float = 1800.0) -> Joined:
    """Join ``shots`` and lay ``music`` (exactly the joined length) under them, encoding the
    sound once: the picture is joined by copy without sound (:func:`join_shots`), and the
    shots' sound is joined inside the soundtrack's own pass — or left out when every shot is
    silent (:func:`~actorvid.media.mp4index.is_silent`), the mix then being the music alone.

    With ``track``, the music is also written there as AAC (the job's audio deliverable)
    without a pass of its own: as a second output of the mix's run when the shots have sound;
    when they are silent the video's sound *is* the music (faded, at −16 LUFS), so the track
    is that stream copied out of ``output``, one AAC encode for both.
    """
    picture = join_shots(ffmpeg, shots, output.with_name(f"{output.stem}_picture.mp4"),
                         transition=transition, sound=False, timeout=timeout)
    sound = None
    if not all(is_silent(shot.path) for shot in shots):
        laps = overlaps(len(shots) - 1, transition)
        sound = ClipSound(tuple(shot.path for shot in shots),
                          sound_graph(shots, laps, first=0, label="clips"))
    try:
        lay_soundtrack(ffmpeg, picture.path, music, output, video_duration=picture.duration,
                       sound=sound, volume=volume,
                       track=track if sound is not None else None, timeout=timeout)
    finally:
        picture.path.unlink(missing_ok=True)
    if track is not None and sound is None:
        ffmpeg.run(["-i", str(output), "-map", "0:a:0", "-c:a", "copy", *output_args(track)],
                   timeout=timeout)
    return Joined(output, picture.frames, picture.encoded_frames)


def lay_soundtrack(ffmpeg: FFmpeg, picture: Path, music: Path | Segments, output: Path, *,
                   video_duration: float, sound: ClipSound | None,
                   fade_in: float = MUSIC_FADE_IN, fade_out: float = MUSIC_FADE_OUT,
                   volume: float = DEFAULT_MUSIC_VOLUME, track: Path | None = None,
                   timeout: float = 1800.0) -> Path:
    """``picture``'s video with ``music`` under the clips' ``sound`` (None: silent clips):
    the music faded in at 0 and out to end exactly at the last frame, at ``volume`` (0–1)
    under the clips' sound, the mix at −16 LUFS integrated with a true peak under −1 dBTP.

    The music is looped if short and cut if long; the picture is copied untouched, so the
    output has exactly the video's length (no ``-shortest`` cutting the video to the music).
    Two runs, one encode of the video's sound: the first builds the mix once, measures its
    loudness and keeps it as PCM (and with ``track`` also writes the music, joined and cut
    but neither faded nor levelled, as AAC); the second applies one gain to that PCM, encodes
    AAC and muxes it with the copied picture. With silent clips the mix is the music alone —
    its level cancels out under the one gain, so ``volume`` does not matter and the clips'
    sound is never decoded.
    """
    seconds = f"{video_duration:.3f}"
    first = len(sound.files) if sound is not None else 0
    # -vn: the shots' picture is not even read (the demuxer would otherwise pull every video
    # packet through to drop it).
    inputs = [arg for path in (sound.files if sound is not None else ())
              for arg in ("-vn", "-i", str(path))]
    if isinstance(music, Segments):
        inputs += [arg for path, _ in music.parts for arg in ("-i", str(path))]
        joined = music_graph([length for _, length in music.parts], first=first,
                             crossfade=music.crossfade, total=video_duration, label="joined")
    else:
        inputs += ["-stream_loop", "-1", "-i", str(music)]
        joined = f"[{first}:a]{audio_format_filter()},atrim=duration={seconds}[joined]"
    more: list[str] = []
    if track is not None:
        joined += ";[joined]asplit=2[joined2][track]"
        more = ["-map", "[track]", *audio_encoder_args(), *output_args(track)]
        music_label = "[joined2]"
    else:
        music_label = "[joined]"
    shaped = (f"{music_label}apad,atrim=duration={seconds},"
              f"{fades(video_duration, fade_in, fade_out)}")
    if sound is None:
        graph = f"{joined};{shaped}[a]"
    else:
        graph = (f"{sound.graph};{joined};"
                 f"[clips]{audio_format_filter()},apad,atrim=duration={seconds}[c];"
                 f"{shaped},volume={volume:.4f}[music];"
                 f"[c][music]amix=inputs=2:duration=first:normalize=0[a]")
    mix = output.with_name(f"{output.stem}_mix.wav")
    try:
        measured = measure_loudness(ffmpeg, inputs, graph, keep=mix, keep_args=more,
                                    timeout=timeout)
        ffmpeg.run([
            "-i", str(picture), "-i", str(mix), "-map", "0:v:0", "-map", "1:a:0",
            "-c:v", "copy", "-af", loudness_filter(measured), *audio_encoder_args(),
            "-t", seconds, *output_args(output),
        ], timeout=timeout)
    finally:
        mix.unlink(missing_ok=True)
    return output


def music_graph(lengths: Sequence[float], *, first: int, crossfade: float, total: float,
                label: str) -> str:
    """Segments (inputs ``first``… in order) each cut to its planned length (a model may make a
    little more), joined with ``crossfade``-second crossfades, and cut (or, only if the
    segments fall short, padded) to ``total`` seconds: a filter graph ending in ``[label]``."""
    norm = [f"[{first + i}:a]{audio_format_filter()},"
            f"apad,atrim=duration={seconds:.3f},asetpts=PTS-STARTPTS[s{i}]"
            for i, seconds in enumerate(lengths)]
    chain = "[s0]"
    steps = []
    for i in range(1, len(lengths)):
        out = f"[x{i}]"
        steps.append(f"{chain}[s{i}]acrossfade=d={crossfade:.3f}:c1=tri:c2=tri{out}")
        chain = out
    return ";".join([*norm, *steps,
                     f"{chain}apad,atrim=duration={total:.3f},asetpts=PTS-STARTPTS[{label}]"])


def join_audio(ffmpeg: FFmpeg, segments: Sequence[tuple[Path, float]], output: Path, *,
               crossfade: float, total: float, master: bool = False,
               timeout: float = 600.0) -> Path:
    """Join ``(file, seconds)`` segments into exactly ``total`` seconds of AAC
    (:func:`music_graph`). With ``master`` (a track delivered on its own, not laid under a
    video) it also fades in and out and is brought to −16 LUFS, as :func:`mux_soundtrack`
    does for a video.
    """
    if not segments:
        raise MediaError("There are no audio segments to join")
    inputs: list[str] = []
    for path, _ in segments:
        inputs += ["-i", str(path)]
    joined = music_graph([seconds for _, seconds in segments], first=0, crossfade=crossfade,
                         total=total, label="joined" if master else "out")
    if not master:
        graph = joined
    else:
        shaped = f"{joined};[joined]{fades(total, MUSIC_FADE_IN, MUSIC_FADE_OUT)}[a]"
        measured = measure_loudness(ffmpeg, inputs, shaped, timeout=timeout)
        graph = f"{shaped};[a]{loudness_filter(measured)}[out]"
    ffmpeg.run([*inputs, "-filter_complex", graph, "-map", "[out]", *audio_encoder_args(),
                *output_args(output)], timeout=timeout)
    return output
