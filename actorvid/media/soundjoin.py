"""The shots' sound joined by copying their AAC frames, encoding only around the joins.

Every shot carries its sound already encoded (AAC, 48 kHz stereo, 1024 samples a frame).
Joining shots used to decode all of it and encode the whole video's sound again at the
finish — the one encode left in a job's last step. Here the joined track is assembled from the
shots' own frames, and only a short *window* around each join (and the very end) is encoded
from decoded sound.

Why this is exact enough to hear nothing:

- AAC frames sit on a grid of 1024 samples from the track's start; a shot's frames can be
  copied only where the shot starts on that grid. Each shot's sound is therefore *placed* on
  the grid (:func:`place_sounds`): at most 512 samples (10.7 ms) from its picture, never
  drifting, because every shot is placed on its own. Where two placed sounds overlap (a
  transition, or a cut whose shots moved towards each other) they crossfade; where a cut's
  shots moved apart, up to 1023 samples of silence separate them.
- An AAC frame decodes into the second half of its predecessor's transform: a copied frame
  next to an encoded one joins two encodings of the same sound, which cancel to within the
  codec's own error. Windows reach :data:`MARGIN` frames into each side of a join, so the
  splice is always inside one shot's untouched sound, and they start :data:`CONTEXT` frames
  early (the encoder's priming and settling) and end as much later; those extra frames are
  thrown away.
- A frame of digital silence decodes the same anywhere, so where only silent shots sound
  (Hailuo clips, cards, the local renderer) any silent frame is copied, on the grid or not:
  a job of silent shots encodes no sound at all.
- The track's first frame is priming (the shots' encoder's 1024 samples, hidden by the MP4
  edit list) and its length is exact: the edit list ends it at the last sample.

:func:`join_sound` returns None when the shots' sound cannot be copied (not AAC of the one
format), and the caller encodes it whole from the same placements (:func:`placed_graph`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from actorvid.errors import MediaError
from actorvid.media.ffmpeg import FFmpeg
from actorvid.media.mp4index import SoundPackets, is_silent, set_sound_length, sound_packets
from actorvid.media.output import SAMPLE_RATE, audio_encoder_args, audio_format_filter

FRAME = 1024  # samples an AAC-LC frame holds
MARGIN = 2  # frames of a shot's own sound a window reaches past each join
CONTEXT = 3  # frames encoded before and after a window and thrown away


@dataclass(frozen=True)
class Placement:
    """One shot's sound on the joined track: from sample ``start``, ``length`` samples (its
    picture's), faded in over its first ``fade_in`` and out over its last ``fade_out``."""

    start: int
    length: int
    fade_in: int = 0
    fade_out: int = 0

    @property
    def end(self) -> int:
        return self.start + self.length


def place_sounds(lengths: Sequence[int], overlaps: Sequence[int], *,
                 grid: int = 1) -> list[Placement]:
    """Where each shot's sound (``lengths`` samples) goes when consecutive shots overlap by
    ``overlaps`` samples (one per join): each starts where its picture does, rounded to the
    nearest multiple of ``grid``; overlapping sounds crossfade over the overlap."""
    starts = [0]
    for length, overlap in zip(lengths, overlaps, strict=False):
        starts.append(starts[-1] + length - overlap)
    starts = [grid * round(start / grid) for start in starts[:len(lengths)]]
    fades = [max(0, min(starts[i] + lengths[i] - starts[i + 1], lengths[i], lengths[i + 1]))
             for i in range(len(lengths) - 1)]
    return [Placement(start, length, fades[i - 1] if i else 0,
                      fades[i] if i < len(fades) else 0)
            for i, (start, length) in enumerate(zip(starts, lengths, strict=True))]


@dataclass(frozen=True)
class Feed:
    """Where a placement's sound comes from: ffmpeg input ``input``, read from its sample
    ``skipped`` on (the input opened with a seek)."""

    input: int
    skipped: int = 0


def placed_graph(placements: Sequence[Placement], *, start: int, end: int,
                 feeds: Mapping[int, Feed] | None = None, label: str = "a") -> str:
    """The joined sound from sample ``start`` to ``end``: a filter graph ending in
    ``[label]`` over the placements that sound there, each read from its feed (by default
    placement ``i`` from input ``i``, from its start)."""
    parts, names = [], ""
    for index, place in enumerate(placements):
        if place.end <= start or place.start >= end:
            continue
        feed = feeds[index] if feeds is not None else Feed(index)
        skip = feed.skipped
        if skip and (skip < place.fade_in or skip > place.length - place.fade_out):
            raise MediaError("A sound is read from inside one of its fades")
        steps = [audio_format_filter(), "apad", f"atrim=end_sample={place.length - skip}"]
        if place.fade_in and not skip:
            steps.append(f"afade=t=in:ss=0:ns={place.fade_in}:curve=tri")
        if place.fade_out:
            steps.append(f"afade=t=out:ss={place.length - place.fade_out - skip}"
                         f":ns={place.fade_out}:curve=tri")
        offset = place.start + skip - start
        if offset > 0:
            steps.append(f"adelay=delays={offset}S:all=1")
        elif offset < 0:
            steps += [f"atrim=start_sample={-offset}", "asetpts=PTS-STARTPTS"]
        name = f"[p{index}_{label}]"
        parts.append(f"[{feed.input}:a]{','.join(steps)}{name}")
        names += name
    cut = f"apad,atrim=end_sample={end - start}[{label}]"
    if not parts:
        return f"anullsrc=r={SAMPLE_RATE}:cl=stereo,{cut}"
    if len(parts) == 1:
        return f"{parts[0]};{names}{cut}"
    return ";".join(parts) + f";{names}amix=inputs={len(parts)}:normalize=0:duration=longest,{cut}"


def frame_count(samples: int) -> int:
    """Frames an AAC encoder writes for ``samples`` samples: the priming frame, then enough
    for every sample (the last one padded)."""
    return math.ceil(samples / FRAME) + 1


@dataclass(frozen=True)
class Window:
    """Frames ``first``…``end - 1`` of the joined track, encoded from its sound between
    samples ``start`` and ``stop``; the encoding's frame ``k`` is the track's frame
    ``k + start // FRAME``."""

    first: int
    end: int
    start: int
    stop: int


SILENCE = -1  # a frame of digital silence, which decodes the same anywhere


def copyable(placements: Sequence[Placement], total: int,
             silent: Sequence[bool] = ()) -> list[int | None]:
    """For every frame of the joined track (``total`` samples), the shot whose own frame can
    be copied into it, :data:`SILENCE` where nothing but ``silent`` shots (or no shot) sounds,
    or None where the frame must be encoded (a window)."""
    owners: list[int | None] = [None] * frame_count(total)
    silent = list(silent) or [False] * len(placements)
    # Frame q encodes samples (q - 2)·1024 … q·1024 (two frames' worth: the transform
    # overlaps); a frame is copied only where that is one shot's sound alone (or silence),
    # MARGIN frames clear of anything else.
    if any(silent):
        sounding = [(place.start, place.end)
                    for place, quiet in zip(placements, silent, strict=True) if not quiet]
        for frame in range(len(owners)):
            low, high = (frame - 2 - MARGIN) * FRAME, (frame + MARGIN) * FRAME
            if not any(start < high and end > low for start, end in sounding):
                owners[frame] = SILENCE
    for index, place in enumerate(placements):
        if silent[index]:
            continue
        pure_start = place.start + place.fade_in
        pure_end = min(place.end - place.fade_out, total)
        # The track's start and end are the shot's own if it is the first or last sound
        # and sits exactly there.
        at_start = place.start == 0 and place.fade_in == 0
        at_end = place.end == total and place.fade_out == 0
        low = 0 if at_start else math.ceil(pure_start / FRAME) + 2 + MARGIN
        high = len(owners) if at_end else (pure_end // FRAME) - MARGIN + 1
        offset = place.start // FRAME
        for frame in range(max(low, offset), min(high, len(owners))):
            owners[frame] = index
    return owners


def windows(owners: Sequence[int | None], total: int) -> list[Window]:
    """The runs of frames no shot can give, each with the sound to encode it from."""
    found: list[Window] = []
    frame = 0
    while frame < len(owners):
        if owners[frame] is not None:
            frame += 1
            continue
        end = frame
        while end < len(owners) and owners[end] is None:
            end += 1
        start = max(0, frame - CONTEXT) * FRAME
        stop = min(total, (end + CONTEXT) * FRAME)
        found.append(Window(frame, end, start, stop))
        frame = end
    return found


def join_sound(ffmpeg: FFmpeg, shots: Sequence[Path], placements: Sequence[Placement],
               total: int, output: Path, *, timeout: float = 1800.0) -> Path | None:
    """The shots' sound at ``placements``, ``total`` samples long, written to ``output``
    (an MP4 sound track) by copying the shots' frames and encoding only the windows; None
    if the shots' sound cannot be copied."""
    tracks = [sound_packets(path) for path in shots]
    if not all(is_shot_sound(track, place.length)
               for track, place in zip(tracks, placements, strict=True)):
        return None
    silent = [is_silent(path) for path in shots]
    owners = copyable(placements, total, silent)
    sources = [_Source(path, track, place.start // FRAME)
               for path, track, place in zip(shots, tracks, placements, strict=True) if track]
    if SILENCE in owners:
        # A silent shot's second frame: its first (the priming) may carry a little more.
        quiet = silent.index(True)
        sources.append(_Source(shots[quiet], sources[quiet].track, 0, fixed=1))
        owners = [len(sources) - 1 if owner == SILENCE else owner for owner in owners]
    plan = windows(owners, total)
    spliced = output.with_suffix(".aac")
    window_paths = [output.with_name(f"{output.stem}_window{k:03d}.m4a")
                    for k in range(len(plan))]
    try:
        _encode_windows(ffmpeg, shots, placements, plan, window_paths, timeout=timeout)
        for window, path in zip(plan, window_paths, strict=True):
            track = sound_packets(path)
            if track is None:
                raise MediaError("A sound window came out without sound")
            for frame in range(window.first, window.end):
                owners[frame] = len(sources)
            sources.append(_Source(path, track, window.start // FRAME))
        _write_adts(owners, sources, spliced)
        # The frames as a raw AAC stream start with the priming frame: shifted one frame
        # early, the MP4 muxer writes the edit list that hides it, and the edit list's end is
        # then set to the exact length.
        ffmpeg.run(["-itsoffset", f"-{FRAME / SAMPLE_RATE:.7f}", "-f", "aac", "-i",
                    str(spliced), "-c", "copy", "-movie_timescale", str(SAMPLE_RATE),
                    "-f", "mp4", "-y", str(output)], timeout=timeout)
        set_sound_length(output, total, priming=FRAME)
    finally:
        spliced.unlink(missing_ok=True)
        for path in window_paths:
            path.unlink(missing_ok=True)
    return output


@dataclass(frozen=True)
class _Source:
    """A file whose frame ``k`` is the joined track's frame ``k + offset``."""

    path: Path
    track: SoundPackets
    offset: int
    fixed: int | None = None  # every frame is this one (silence)


def _write_adts(owners: Sequence[int | None], sources: Sequence[_Source],
                spliced: Path) -> None:
    handles = [source.path.open("rb") for source in sources]
    try:
        with spliced.open("wb") as out:
            for frame, owner in enumerate(owners):
                if owner is None:
                    raise MediaError("A frame of the joined sound has no source")
                source = sources[owner]
                index = source.fixed if source.fixed is not None else frame - source.offset
                if not 0 <= index < len(source.track.spans):
                    raise MediaError("A sound source is shorter than planned")
                position, size = source.track.spans[index]
                handles[owner].seek(position)
                out.write(adts_header(SHOT_FORMAT, size) + handles[owner].read(size))
    finally:
        for handle in handles:
            handle.close()


def is_shot_sound(track: SoundPackets | None, samples: int) -> bool:
    """Whether ``track`` is sound as a shot carries it, ready to be copied: AAC-LC at 48 kHz
    in stereo, the encoder's priming frame hidden by the edit list, whole frames but the
    last, exactly ``samples`` long."""
    return (track is not None and aac_format(track.config) == SHOT_FORMAT
            and track.priming == FRAME and track.samples == samples
            and len(track.spans) == frame_count(samples)
            and all(duration == FRAME for duration in track.durations[:-1]))


# (object type, sampling frequency index, channel configuration): AAC-LC, 48 kHz, stereo.
SHOT_FORMAT = (2, 3, 2)


def aac_format(config: bytes) -> tuple[int, int, int] | None:
    """What an AudioSpecificConfig's first two bytes say (the rest, such as ffmpeg's "no
    SBR" signal, does not change how an AAC-LC frame decodes)."""
    if len(config) < 2:
        return None
    return (config[0] >> 3, ((config[0] & 0x07) << 1) | (config[1] >> 7),
            (config[1] >> 3) & 0x0F)


def _encode_windows(ffmpeg: FFmpeg, shots: Sequence[Path], placements: Sequence[Placement],
                    plan: Sequence[Window], paths: Sequence[Path], *, timeout: float) -> None:
    """Every window encoded in one ffmpeg run (an encoder per window), each to its path.
    Each window opens the shots it needs with a seek to just before it, so only a few
    frames of each are decoded."""
    if not plan:
        return
    inputs: list[str] = []
    graphs, outputs = [], []
    for k, (window, path) in enumerate(zip(plan, paths, strict=True)):
        feeds = {}
        for index, place in enumerate(placements):
            if place.end <= window.start or place.start >= window.stop:
                continue
            skipped = _seek_point(window.start - place.start - SEEK_PREROLL)
            if skipped < place.fade_in:
                skipped = 0
            feeds[index] = Feed(inputs.count("-i"), skipped)
            # No seek at all from the start: a seek to 0 would also skip the edit list that
            # hides the priming.
            if skipped:
                inputs += ["-ss", f"{skipped // 48 / 1000:.3f}"]
            inputs += ["-vn", "-i", str(shots[index])]  # -vn: not even read the picture
        graphs.append(placed_graph(placements, start=window.start, end=window.stop,
                                   feeds=feeds, label=f"w{k}"))
        outputs += ["-map", f"[w{k}]", *audio_encoder_args(), "-f", "mp4", "-y", str(path)]
    ffmpeg.run([*inputs, "-filter_complex", ";".join(graphs), *outputs], timeout=timeout)


# A seek lands on the frame before its point and decodes from there; starting 100 ms early
# keeps that first, overlap-less frame far from the sound a window uses.
SEEK_PREROLL = SAMPLE_RATE // 10


def _seek_point(samples: int) -> int:
    """``samples`` (clamped to 0) rounded down to a whole millisecond, which ``-ss`` states
    exactly (48 samples)."""
    return max(0, samples) // 48 * 48


def adts_header(form: tuple[int, int, int], size: int) -> bytes:
    """The 7-byte ADTS header (ISO/IEC 13818-7) of one raw AAC frame of ``size`` bytes in
    ``form`` (:func:`aac_format`)."""
    kind, rate, channels = form
    length = size + 7
    return struct.pack(
        ">BBBBBBB", 0xFF, 0xF1,  # sync word, MPEG-4, layer 0, no CRC
        ((kind - 1) << 6) | (rate << 2) | (channels >> 2),
        ((channels & 3) << 6) | (length >> 11),
        (length >> 3) & 0xFF,
        ((length & 7) << 5) | 0x1F,  # buffer fullness 0x7FF: variable bit rate
        0xFC)
