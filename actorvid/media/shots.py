"""Shots: clips normalised once on arrival, joined later by stream copy.

A *shot* is an MP4 already in the output format (``actorvid.media.output``): the job's exact
frame, 30 fps CFR, tv-range BT.709 ``yuv420p`` H.264 without B-frames, and an AAC 48 kHz stereo
track of exactly :data:`~actorvid.media.output.SAMPLES_PER_FRAME` samples per frame (silence when
the clip had none). :func:`normalise_shot` makes one from any clip; :func:`join_shots` joins
shots into a deliverable:

- the picture is copied (concat demuxer, ``inpoint``/``outpoint`` per part); only a transition's
  overlap window is decoded and encoded again, as one short *piece*;
- the sound is copied too: the shots' AAC frames make the joined track, and only a few
  frames around each join and at the end are encoded again (``actorvid.media.soundjoin``,
  which explains why AAC cannot simply be concatenated and how each shot's sound is placed
  on the AAC frame grid, within 10.7 ms of its picture). With a soundtrack the shots' sound
  is mixed under the music in the soundtrack's own pass instead (``sound=False`` here,
  :func:`sound_graph` there, exactly where the pictures are).

Keyframes: a copied part must start on an IDR frame. A shot made for a transition of ``s``
seconds gets IDR frames at ``floor(s·30)`` and ``ceil(s·30)`` (the window rounded to whole
frames either way, see :func:`overlaps`); a part may end anywhere, since without B-frames every
prefix decodes. If a shot lacks the keyframe (one made for another transition), the piece grows
to the shot's next keyframe instead — still never the whole shot.
"""

from __future__ import annotations

import math
import struct
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.domain.creative import Transition
from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.mp4index import (
    elst_media_time,
    first_box,
    has_sound,
    index_of,
    read_moov,
    sample_entry_box,
    sound_packets,
    video_index,
    video_trak,
)
from actorvid.media.output import (
    FPS,
    SAMPLES_PER_FRAME,
    TV_BT709,
    VIDEO_TIMESCALE,
    audio_encoder_args,
    audio_format_filter,
    container_args,
    output_args,
    shot_encoder_args,
    video_filter,
)
from actorvid.media.soundjoin import (
    FRAME,
    Feed,
    Placement,
    is_shot_sound,
    join_sound,
    place_sounds,
    placed_graph,
)


@dataclass(frozen=True)
class Shot:
    """A normalised shot on disk: ``frames`` pictures at :data:`FPS`, keyframes at
    ``keyframes`` (frame numbers, 0 first)."""

    path: Path
    frames: int
    keyframes: tuple[int, ...]

    @property
    def seconds(self) -> float:
        return self.frames / FPS


@dataclass(frozen=True)
class Joined:
    path: Path
    frames: int
    # Frames re-encoded (the transition pieces); the rest was copied.
    encoded_frames: int

    @property
    def duration(self) -> float:
        return self.frames / FPS


def transition_keyframes(transition: Transition) -> list[int]:
    """Frame numbers where a shot's copied part may have to start after ``transition``."""
    if transition.overlap <= 0:
        return []
    exact = transition.overlap * FPS
    return sorted({math.floor(exact), math.ceil(exact)} - {0})


def overlaps(joins: int, transition: Transition) -> list[int]:
    """Whole frames each of ``joins`` joins overlaps. Rounded so that the total after k joins
    is ``round(k · seconds · 30)``: the video stays within half a frame of
    :func:`~actorvid.domain.creative.video_seconds` however many joins there are."""
    exact = transition.overlap * FPS
    return [round((k + 1) * exact) - round(k * exact) for k in range(joins)]


def joined_frames(shots: Sequence[Shot], transition: Transition) -> int:
    """The length in frames of :func:`join_shots`'s output, known before joining."""
    return sum(shot.frames for shot in shots) - sum(overlaps(len(shots) - 1, transition))


def normalise_shot(ffmpeg: FFmpeg, clip: Path, output: Path, *, width: int, height: int,
                   fit: str = "crop", transition: Transition | None = None,
                   timeout: float = 1800.0) -> Shot:
    """Convert ``clip`` (any size, rate, pixel format, with or without sound) into a shot.

    A clip whose picture already is a shot's (:func:`conforms`: our local renderer's, or a
    model's encoded the same way) is remuxed: its picture copied, only its sound encoded.
    """
    keyframes = transition_keyframes(transition or Transition())
    if conforms(ffmpeg, clip, width=width, height=height, keyframes=keyframes):
        return remux_shot(ffmpeg, clip, output, timeout=timeout)
    info = ffmpeg.probe(clip)
    if not info.has_video or not info.duration:
        raise MediaError(f"Clip {clip.name} has no readable video")
    frames = max(1, round(info.duration * FPS))
    samples = frames * SAMPLES_PER_FRAME
    # Clone the last frame if the source runs short, then cut at exactly ``frames``.
    video = (f"[0:v]{video_filter(width, height, fit)},tpad=stop_mode=clone:stop_duration=1,"
             f"trim=end_frame={frames},setpts=PTS-STARTPTS[v]")
    if info.has_audio:
        audio = (f"[0:a]{audio_format_filter()},apad,atrim=end_sample={samples},"
                 f"asetpts=PTS-STARTPTS[a]")
    else:
        audio = f"anullsrc=r=48000:cl=stereo,atrim=end_sample={samples},{audio_format_filter()}[a]"
    ffmpeg.run(["-i", str(clip), "-filter_complex", f"{video};{audio}",
                "-map", "[v]", "-map", "[a]", *shot_encoder_args(keyframes),
                *audio_encoder_args(), *output_args(output)], timeout=timeout)
    return read_shot(output)


def conforms(ffmpeg: FFmpeg, clip: Path, *, width: int, height: int,
             keyframes: Sequence[int] = ()) -> bool:
    """Whether ``clip``'s picture can be a shot's as it is, read from its MP4 index: the
    ``avcC`` (SPS/PPS: size, profile, level, pixel format, colour tags, the encoder's
    settings) equal to a shot's at this frame (so the concat demuxer's one ``avcC`` fits it),
    no B-frames (no ``ctts``), a constant 30 fps, no edit list that shifts the picture, and an
    IDR frame at 0 and at every frame in ``keyframes``. The sound does not matter: a remux
    encodes it."""
    try:
        track = video_trak(read_moov(clip))
    except (MediaError, OSError, struct.error):
        return False
    if track is None or first_box(track, b"ctts"):
        return False
    avcc = sample_entry_box(track, b"avcC")
    if avcc is None or avcc != shot_avcc(ffmpeg, width, height):
        return False
    mdhd = first_box(track, b"mdhd")
    scale = struct.unpack(">I", mdhd[20:24] if mdhd[:1] == b"\1" else mdhd[12:16])[0]
    stts = first_box(track, b"stts")
    entries = struct.unpack(">I", stts[4:8])[0]
    deltas = [struct.unpack(">II", stts[8 + 8 * i:16 + 8 * i]) for i in range(entries)]
    # Every frame 1/30 s long (the muxer may give the last one its own entry).
    if scale % FPS or any(delta != scale // FPS for _, delta in deltas[:-1]) or (
            deltas and deltas[-1][1] != scale // FPS and deltas[-1][0] != 1):
        return False
    elst = first_box(track, b"elst")
    if elst and (struct.unpack(">I", elst[4:8])[0] != 1 or elst_media_time(elst) != 0):
        return False
    _, frame_keys = index_of(track)
    return 0 in frame_keys and set(keyframes) <= set(frame_keys)


def remux_shot(ffmpeg: FFmpeg, clip: Path, output: Path, *, timeout: float = 1800.0) -> Shot:
    """A conforming clip (:func:`conforms`) made a shot: the picture copied packet for packet
    into the shots' time base; the sound copied too when it already is a shot's
    (:func:`~actorvid.media.soundjoin.is_shot_sound`: our local renderer's), else (or
    silence) encoded to exactly its picture's length, as :func:`normalise_shot` would."""
    frames, _ = video_index(clip)
    samples = frames * SAMPLES_PER_FRAME
    if is_shot_sound(sound_packets(clip), samples):
        audio = ["-map", "0:a:0", "-c:a", "copy"]
    else:
        if has_sound(clip):
            graph = f"[0:a:0]{audio_format_filter()},apad,atrim=end_sample={samples}[a]"
        else:
            graph = (f"anullsrc=r=48000:cl=stereo,atrim=end_sample={samples},"
                     f"{audio_format_filter()}[a]")
        audio = ["-filter_complex", graph, "-map", "[a]", *audio_encoder_args()]
    ffmpeg.run(["-i", str(clip), "-map", "0:v:0", *audio, "-c:v", "copy",
                "-video_track_timescale", str(VIDEO_TIMESCALE), *output_args(output)],
               timeout=timeout)
    shot = read_shot(output)
    if shot.frames != frames:
        raise MediaError(f"A remuxed shot came out {shot.frames} frames long, not {frames}")
    return shot


_AVCC: dict[tuple[str, int, int], bytes] = {}
_AVCC_LOCK = threading.Lock()


def shot_avcc(ffmpeg: FFmpeg, width: int, height: int) -> bytes:
    """The ``avcC`` every shot of a ``width``×``height`` job has: one frame encoded the
    shots' way, once per process and frame size."""
    key = (ffmpeg.binary, width, height)
    with _AVCC_LOCK:
        if key in _AVCC:
            return _AVCC[key]
    with tempfile.TemporaryDirectory(prefix="actorvid-avcc-") as tmp:
        sample = Path(tmp) / "sample.mp4"
        ffmpeg.run(["-f", "lavfi", "-i", f"color=black:size={width}x{height}:rate={FPS}",
                    "-vf", TV_BT709, "-frames:v", "1", *shot_encoder_args(),
                    *output_args(sample)], timeout=120)
        track = video_trak(read_moov(sample))
        avcc = sample_entry_box(track, b"avcC") if track is not None else None
    if avcc is None:
        raise MediaError("The shots' H.264 headers could not be read")
    with _AVCC_LOCK:
        _AVCC[key] = avcc
    return avcc


def read_shot(path: Path) -> Shot:
    """A stored shot's frame count and keyframes, read from its MP4 index (no decoding)."""
    frames, keyframes = video_index(path)
    return Shot(path, frames, keyframes)


def join_shots(ffmpeg: FFmpeg, shots: Sequence[Shot], output: Path, *,
               transition: Transition = Transition(), sound: bool = True,
               timeout: float = 1800.0) -> Joined:
    """Join ``shots`` in order with ``transition`` into ``output`` (``+faststart``).

    The picture is copied except for the transition windows; the length is the shots' frames
    minus one overlap per join (:func:`overlaps`). The sound of each shot is cut to its
    picture's exact length and the shots' sounds are crossfaded over the same windows
    (:func:`sound_graph`); without ``sound`` the output is the picture alone, a pure copy.
    """
    if not shots:
        raise MediaError("There are no shots to join")
    laps = overlaps(len(shots) - 1, transition)
    workdir = output.parent
    parts: list[tuple[Path, int, int]] = []  # (file, first frame, end frame) to copy
    encoded = 0
    start = 0  # where the current shot's copied part begins
    for index, shot in enumerate(shots):
        end = shot.frames - (laps[index] if index < len(laps) else 0)
        if end < start:
            raise MediaError(f"Shot {index + 1} is shorter than its transitions")
        if end > start:
            parts.append((shot.path, start, end))
        if index == len(shots) - 1:
            break
        lap = laps[index]
        nxt = shots[index + 1]
        if lap == 0:
            start = 0
            continue
        # The next shot's copied part starts on its first keyframe at or after the window.
        resume = next((k for k in nxt.keyframes if k >= lap), nxt.frames)
        piece = workdir / f"piece_{index + 1:03d}.mp4"
        _transition_piece(ffmpeg, shot, nxt, piece, lap=lap, until=resume,
                          kind=transition.kind, timeout=timeout)
        parts.append((piece, 0, resume))
        encoded += resume
        start = resume
    listing = workdir / f"{output.stem}.concat"
    listing.write_text("ffconcat version 1.0\n" + "".join(
        f"file '{_quoted(path)}'\ninpoint {_time(first)}\noutpoint {_time(last)}\n"
        for path, first, last in parts))
    frames = sum(last - first for _, first, last in parts)
    sound_track = workdir / f"{output.stem}_sound.m4a"
    inputs: list[str] = []
    audio = ["-an"]
    if sound:
        # The shots' own AAC frames, copied; only around each join is the sound encoded
        # (actorvid.media.soundjoin). The fallback encodes the same placements whole.
        placements = shot_placements(shots, laps, grid=FRAME)
        total = frames * SAMPLES_PER_FRAME
        if join_sound(ffmpeg, [shot.path for shot in shots], placements, total,
                      sound_track, timeout=timeout):
            inputs = ["-i", str(sound_track)]
            audio = ["-map", "1:a:0", "-c:a", "copy"]
        else:
            inputs = [arg for shot in shots for arg in ("-vn", "-i", str(shot.path))]
            feeds = {index: Feed(index + 1) for index in range(len(shots))}
            audio = ["-filter_complex",
                     placed_graph(placements, start=0, end=total, feeds=feeds),
                     "-map", "[a]", *audio_encoder_args()]
    # auto_convert 0: keep the packets as stored (the default rewrites H.264 to Annex B and
    # back, adding SPS/PPS to every keyframe); every part has the same avcC anyway.
    try:
        ffmpeg.run(["-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", str(listing),
                    *inputs, "-map", "0:v:0", "-c:v", "copy", *audio, *container_args(),
                    "-y", str(output)], timeout=timeout)
    finally:
        sound_track.unlink(missing_ok=True)
    return Joined(output, frames, encoded)


def _transition_piece(ffmpeg: FFmpeg, left: Shot, right: Shot, piece: Path, *, lap: int,
                      until: int, kind: str, timeout: float) -> None:
    """The last ``lap`` frames of ``left`` blended into the first ``until`` of ``right`` (the
    window, then up to ``right``'s next keyframe if it has none at the window's end)."""
    blend = "fadeblack" if kind == "fadeblack" else "fade"
    # Seek into the left shot (decoding starts at its keyframe before the window).
    seek = (left.frames - lap) / FPS
    graph = (f"[0:v]trim=end_frame={lap},setpts=PTS-STARTPTS[l];"
             f"[1:v]trim=end_frame={until},setpts=PTS-STARTPTS[r];"
             f"[l][r]xfade=transition={blend}:duration={lap / FPS:.6f}:offset=0,"
             f"{TV_BT709}[v]")
    ffmpeg.run(["-ss", f"{seek:.6f}", "-i", str(left.path), "-i", str(right.path),
                "-filter_complex", graph, "-map", "[v]", "-an", *shot_encoder_args([0]),
                "-frames:v", str(until), *output_args(piece)], timeout=timeout)
    frames, _ = video_index(piece)
    if frames != until:
        raise MediaError(f"A transition piece came out {frames} frames long, not {until}")


def shot_placements(shots: Sequence[Shot], laps: Sequence[int], *,
                    grid: int = 1) -> list[Placement]:
    """Where each shot's sound goes on the joined track (:func:`place_sounds`): its picture's
    length, crossfading over the ``laps`` (:func:`overlaps`), each start rounded to ``grid``
    samples."""
    return place_sounds([shot.frames * SAMPLES_PER_FRAME for shot in shots],
                        [lap * SAMPLES_PER_FRAME for lap in laps], grid=grid)


def sound_graph(shots: Sequence[Shot], laps: Sequence[int], *, first: int = 1,
                label: str = "a") -> str:
    """Each shot's sound cut to its picture, joined with crossfades over the windows (the
    ``laps`` of :func:`overlaps`), exactly where the pictures are: a filter graph over inputs
    ``first``… (one per shot, in order) ending in ``[label]``."""
    total = (sum(shot.frames for shot in shots) - sum(laps)) * SAMPLES_PER_FRAME
    return placed_graph(shot_placements(shots, laps), start=0, end=total, label=label,
                        feeds={index: Feed(first + index) for index in range(len(shots))})


# An AAC frame of digital silence is 6 bytes (ffmpeg's encoder); the first frame, which also
# carries the priming, a few more. Anything audible takes more than 8 bytes a frame.
def _time(frame: int) -> str:
    """The time of ``frame`` in whole microseconds (the concat demuxer's precision), rounded
    down: a bound rounded up would let the frame starting on it through."""
    micros = frame * 1_000_000 // FPS
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _quoted(path: Path) -> str:
    return str(path.resolve()).replace("'", "'\\''")


# --- the MP4 index ---------------------------------------------------------------------------
