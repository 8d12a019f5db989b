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

FPS = 30


@dataclass(frozen=True)
class StitchResult:
    path: Path
    duration: float
    width: int
    height: int


def _clip_filter(index: int, info: MediaInfo, width: int, height: int) -> str:
    duration = info.duration or 0.0
    video = (f"[{index}:v]scale={width}:{height}:force_original_aspect_ratio=decrease,"
             f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps={FPS},"
             f"format=yuv420p,trim=duration={duration:.3f},setpts=PTS-STARTPTS[v{index}]")
    if info.has_audio:
        audio = (f"[{index}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
                 f"apad,atrim=duration={duration:.3f},asetpts=PTS-STARTPTS[a{index}]")
    else:
        audio = (f"anullsrc=r=48000:cl=stereo,atrim=duration={duration:.3f},"
                 f"aformat=sample_fmts=fltp:channel_layouts=stereo[a{index}]")
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
        "-y", *inputs, "-filter_complex", graph, "-map", "[vout]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-pix_fmt", "yuv420p",
        "-r", str(FPS), "-c:a", "aac", "-b:a", "160k", "-ar", "48000",
        "-movflags", "+faststart", str(output),
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


def mux_soundtrack(ffmpeg: FFmpeg, video: Path, music: Path, output: Path, *,
                   video_duration: float, fade_in: float = 1.0, fade_out: float = 2.0,
                   timeout: float = 1800.0) -> Path:
    """Lay ``music`` under ``video``: faded in at 0, faded out to end exactly at the last frame.

    The music is looped if short and cut if long; the picture is copied untouched, so the
    output has exactly the video's length (no ``-shortest`` cutting the video to the music).
    """
    fade_out = min(fade_out, video_duration / 2)
    fade_in = min(fade_in, video_duration / 2)
    start_out = max(0.0, video_duration - fade_out)
    graph = (f"[1:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
             f"atrim=duration={video_duration:.3f},apad,atrim=duration={video_duration:.3f},"
             f"afade=t=in:st=0:d={fade_in:.3f},"
             f"afade=t=out:st={start_out:.3f}:d={fade_out:.3f}[music]")
    ffmpeg.run([
        "-y", "-i", str(video), "-stream_loop", "-1", "-i", str(music),
        "-filter_complex", graph, "-map", "0:v:0", "-map", "[music]",
        "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-ar", "48000",
        "-t", f"{video_duration:.3f}", "-movflags", "+faststart", str(output),
    ], timeout=timeout)
    return output


def join_audio(ffmpeg: FFmpeg, segments: Sequence[tuple[Path, float]], output: Path, *,
               crossfade: float, total: float, timeout: float = 600.0) -> Path:
    """Join ``(file, seconds)`` segments into exactly ``total`` seconds of AAC.

    Each segment is cut to its planned length first (a model may make a little more), then
    consecutive segments are joined with ``crossfade``-second crossfades; the result is cut (or,
    only if the segments fall short, padded) to ``total``.
    """
    if not segments:
        raise MediaError("There are no audio segments to join")
    inputs: list[str] = []
    for path, _ in segments:
        inputs += ["-i", str(path)]
    norm = [f"[{i}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"apad,atrim=duration={seconds:.3f},asetpts=PTS-STARTPTS[s{i}]"
            for i, (_, seconds) in enumerate(segments)]
    chain = "[s0]"
    steps = []
    for i in range(1, len(segments)):
        out = f"[x{i}]"
        steps.append(f"{chain}[s{i}]acrossfade=d={crossfade:.3f}:c1=tri:c2=tri{out}")
        chain = out
    tail = f"{chain}apad,atrim=duration={total:.3f},asetpts=PTS-STARTPTS[out]"
    graph = ";".join([*norm, *steps, tail])
    ffmpeg.run(["-y", *inputs, "-filter_complex", graph, "-map", "[out]", "-c:a", "aac",
                "-b:a", "192k", "-ar", "48000", str(output)], timeout=timeout)
    return output
