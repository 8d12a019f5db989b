"""What an MP4's index says, read without decoding: the video track's timescale and sync
samples, its sample entry and edit list, whether a sound track is only silent AAC frames.

``actorvid.media.shots`` decides from these whether a clip joins by copy (its keyframes),
conforms to a shot (its ``avcC``) or needs its sound decoded at all; reading boxes is cheaper
and exacter than asking ffprobe for every packet.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from actorvid.errors import MediaError

_SILENT_FRAME_BYTES = 8


def is_silent(path: Path) -> bool:
    """Whether a shot's sound is digital silence (the silence :func:`normalise_shot` gives a
    clip without sound), read from its MP4 index: every AAC frame about empty.

    Lets a soundtrack skip decoding and mixing the shots' sound when there is none (Hailuo
    clips, the local renderer, cards) without decoding anything to find out.
    """
    data = read_moov(path)
    for trak in _boxes(data, 0, len(data), b"trak"):
        body = data[trak[0]:trak[1]]
        if not _handler_is(body, b"soun"):
            continue
        stsz = first_box(body, b"stsz")
        if len(stsz) < 12:
            return False
        size, count = struct.unpack(">II", stsz[4:12])
        if not count:
            return True
        if size:
            return size <= _SILENT_FRAME_BYTES
        sizes = struct.unpack(f">{count}I", stsz[12:12 + 4 * count])
        # Allow the priming frame and the last one, which may carry a little more.
        return sum(sizes) <= _SILENT_FRAME_BYTES * count + 64
    return True


_CONTAINERS = {b"moov", b"trak", b"edts", b"mdia", b"minf", b"stbl"}


def video_index(path: Path) -> tuple[int, tuple[int, ...]]:
    """(frame count, keyframe numbers) of the first video track of an MP4, from its ``stsz``
    and ``stss`` boxes. Without ``stss`` every frame is a keyframe (ISO/IEC 14496-12)."""
    track = video_trak(read_moov(path))
    if track is None:
        raise MediaError(f"{path.name} has no video track")
    return index_of(track)


def index_of(track: bytes) -> tuple[int, tuple[int, ...]]:
    stsz = first_box(track, b"stsz")
    stss = first_box(track, b"stss")
    count = struct.unpack(">I", stsz[8:12])[0] if stsz else 0
    if not stss:
        return count, tuple(range(count))
    entries = struct.unpack(">I", stss[4:8])[0]
    numbers = struct.unpack(f">{entries}I", stss[8:8 + 4 * entries])
    return count, tuple(n - 1 for n in numbers)


def video_trak(moov: bytes) -> bytes | None:
    """The body of the first video ``trak`` in a ``moov``."""
    for trak in _boxes(moov, 0, len(moov), b"trak"):
        body = moov[trak[0]:trak[1]]
        if _handler_is(body, b"vide"):
            return body
    return None


def has_sound(path: Path) -> bool:
    data = read_moov(path)
    return any(_handler_is(data[start:end], b"soun")
               for start, end in _boxes(data, 0, len(data), b"trak"))


def _handler_is(trak: bytes, kind: bytes) -> bool:
    hdlr = first_box(trak, b"hdlr")
    return bool(hdlr) and hdlr[8:12] == kind


def sample_entry_box(track: bytes, want: bytes) -> bytes | None:
    """The body of box ``want`` inside the track's first sample entry (``avc1``'s ``avcC``),
    or None (another codec). The entry's fixed fields come first: 78 bytes for video."""
    stsd = first_box(track, b"stsd")
    if len(stsd) < 16 or stsd[12:16] not in (b"avc1", b"avc3"):
        return None
    size = struct.unpack(">I", stsd[8:12])[0]
    entry = stsd[16:8 + size]
    spans = _boxes(entry, 78, len(entry), want)
    return entry[spans[0][0]:spans[0][1]] if spans else None


def elst_media_time(elst: bytes) -> int:
    """The first edit's media time (where the track's presentation starts in its media)."""
    if elst[:1] == b"\1":
        return int(struct.unpack(">q", elst[16:24])[0])
    return int(struct.unpack(">i", elst[12:16])[0])


def read_moov(path: Path, *, limit: int | None = None) -> bytes:
    """The file's ``moov`` box (read alone: the media data may be hundreds of MiB), or only
    its first ``limit`` bytes (a file from outside may claim any size for it)."""
    with path.open("rb") as handle:
        return _read_moov(handle, path, limit)[1]


def _read_moov(handle: BinaryIO, path: Path, limit: int | None = None) -> tuple[int, bytes]:
    """Where the ``moov`` box starts in ``handle``, and its bytes (at most ``limit``)."""
    found = _find_moov(handle)
    if found is None:
        raise MediaError(f"{path.name} has no MP4 index")
    position, size = found
    handle.seek(position)
    return position, handle.read(size if limit is None else min(size, limit))


def _find_moov(handle: BinaryIO) -> tuple[int, int] | None:
    """(offset, size) of the top-level ``moov`` box of an open MP4 file, walking the
    top-level box headers only; None if there is none."""
    handle.seek(0)
    position = 0
    while len(header := handle.read(8)) == 8:
        size, kind = struct.unpack(">I4s", header)
        head = 8
        if size == 1:
            size = struct.unpack(">Q", handle.read(8))[0]
            head = 16
        if size < head:  # 0 (to the end) or not an MP4 box at all (any clip)
            return None
        if kind == b"moov":
            return position, size
        position += size
        handle.seek(position)
    return None


# The sniffer's names for ISO-BMFF files: the formats movie_duration reads.
MP4_FORMATS = ("mp4", "mov")
# How much of a moov box movie_duration reads to find its mvhd (the first box in practice).
MOVIE_HEADER_SEARCH = 64 * 1024


def movie_duration(path: Path | str) -> float | None:
    """An MP4/MOV's duration from its ``mvhd`` box, or None when it cannot be found (or is
    0, as in fragmented files). Reads box headers and the start of the ``moov`` only, never
    the index itself (an upload's moov may claim any size), so a thumbnail's time can be
    chosen before ffmpeg first looks at the file."""
    try:
        mvhd = first_box(read_moov(Path(path), limit=MOVIE_HEADER_SEARCH), b"mvhd")
        if mvhd[:1] == b"\1":
            duration = struct.unpack(">Q", mvhd[24:32])[0]
        else:
            duration = struct.unpack(">I", mvhd[16:20])[0]
        scale = _timescale(mvhd)
    except (MediaError, OSError, struct.error):
        return None
    return duration / scale if scale and duration else None


def _boxes(data: bytes, start: int, end: int, want: bytes) -> list[tuple[int, int]]:
    """(start, end) of the bodies of every ``want`` box below ``start:end``, descending
    through the container boxes of a track."""
    found = []
    pos = start
    end = min(end, len(data))  # a moov read only in part
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            break
        if kind == want:
            found.append((pos + head, pos + size))
        elif kind in _CONTAINERS:
            found += _boxes(data, pos + head, pos + size, want)
        pos += size
    return found


def first_box(data: bytes, want: bytes) -> bytes:
    """The body of the first ``want`` box in ``data`` (a track), or b""."""
    spans = _boxes(data, 0, len(data), want)
    return data[spans[0][0]:spans[0][1]] if spans else b""


@dataclass(frozen=True)
class SoundPackets:
    """Where a track's AAC frames lie in the file, in decoding order, and how to read them:
    ``config`` is the decoder's AudioSpecificConfig (profile, rate, channels), ``priming``
    the samples its edit list hides at the start, ``durations`` every frame's samples,
    ``samples`` how many it presents (the edit list's length: the last frame's padding and
    the priming left out)."""

    config: bytes
    priming: int
    spans: tuple[tuple[int, int], ...]  # (file offset, size) of each frame
    durations: tuple[int, ...]
    samples: int


def sound_packets(path: Path) -> SoundPackets | None:
    """The first sound track's AAC frames (None: no sound track, or not AAC in MP4)."""
    moov = read_moov(path)
    trak = next((moov[start:end] for start, end in _boxes(moov, 0, len(moov), b"trak")
                 if _handler_is(moov[start:end], b"soun")), None)
    if trak is None:
        return None
    config = _aac_config(first_box(trak, b"stsd"))
    if config is None:
        return None
    elst = first_box(trak, b"elst")
    priming = elst_media_time(elst) if elst else 0
    durations = _sample_durations(trak)
    samples = sum(durations) - priming
    if elst:
        length = struct.unpack(">Q", elst[8:16])[0] if elst[:1] == b"\1" else \
            struct.unpack(">I", elst[8:12])[0]
        samples = min(samples, round(length * _timescale(first_box(trak, b"mdhd"))
                                     / _timescale(first_box(moov, b"mvhd"))))
    return SoundPackets(config, priming, _sample_spans(trak), durations, samples)


def _timescale(header: bytes) -> int:
    """The time scale of an ``mvhd`` or ``mdhd`` (after its creation/modification times)."""
    return int(struct.unpack(">I", header[20:24] if header[:1] == b"\1" else header[12:16])[0])


def _aac_config(stsd: bytes) -> bytes | None:
    """The DecoderSpecificInfo of an ``mp4a`` entry's ``esds`` (ISO/IEC 14496-1 descriptors:
    tag, a length in 7-bit groups, the body), or None for another codec."""
    if len(stsd) < 16 or stsd[12:16] != b"mp4a":
        return None
    size = struct.unpack(">I", stsd[8:12])[0]
    entry = stsd[16:8 + size]
    spans = _boxes(entry, 28, len(entry), b"esds")  # 28: the AudioSampleEntry's fixed fields
    if not spans:
        return None
    esds = entry[spans[0][0] + 4:spans[0][1]]  # past the full box's version and flags
    pos = 0
    while pos < len(esds):
        tag = esds[pos]
        pos += 1
        length = 0
        while pos < len(esds):
            byte = esds[pos]
            pos += 1
            length = (length << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        if tag == 0x03:  # ES_Descriptor: ES_ID, flags, then its sub-descriptors
            flags = esds[pos + 2]
            pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
            if flags & 0x40:
                pos += 1 + esds[pos]
        elif tag == 0x04:  # DecoderConfigDescriptor: 13 fixed bytes, then the specific info
            pos += 13
        elif tag == 0x05:
            return bytes(esds[pos:pos + length])
        else:
            pos += length
    return None


def _sample_spans(trak: bytes) -> tuple[tuple[int, int], ...]:
    stsz = first_box(trak, b"stsz")
    fixed, count = struct.unpack(">II", stsz[4:12])
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I",
                                                             stsz[12:12 + 4 * count]))
    if stco := first_box(trak, b"stco"):
        chunks = struct.unpack(f">{struct.unpack('>I', stco[4:8])[0]}I", stco[8:])
    else:
        co64 = first_box(trak, b"co64")
        chunks = struct.unpack(f">{struct.unpack('>I', co64[4:8])[0]}Q", co64[8:])
    stsc = first_box(trak, b"stsc")
    runs = struct.unpack(f">{3 * struct.unpack('>I', stsc[4:8])[0]}I", stsc[8:])
    spans: list[tuple[int, int]] = []
    sample = 0
    for index, offset in enumerate(chunks, start=1):
        # The last stsc run whose first chunk is at or before this one says how many.
        per_chunk = next(runs[k + 1] for k in range(len(runs) - 3, -1, -3) if runs[k] <= index)
        for _ in range(per_chunk):
            if sample == count:
                break
            spans.append((offset, sizes[sample]))
            offset += sizes[sample]
            sample += 1
    if sample != count:
        raise MediaError("An MP4 sound track's index does not add up")
    return tuple(spans)


def _sample_durations(trak: bytes) -> tuple[int, ...]:
    stts = first_box(trak, b"stts")
    entries = struct.unpack(f">{2 * struct.unpack('>I', stts[4:8])[0]}I", stts[8:])
    return tuple(delta for k in range(0, len(entries), 2)
                 for delta in [entries[k + 1]] * entries[k])


def set_sound_length(path: Path, samples: int, *, priming: int) -> None:
    """End the first sound track's edit after exactly ``samples`` samples, in place: the MP4
    muxer sets it from whole frames (the last frame's padding included). Needs the movie time
    scale to be the sample rate and the one edit to start at ``priming``."""
    with path.open("r+b") as handle:
        start, moov = _read_moov(handle, path)
        scale = _timescale(first_box(moov, b"mvhd"))
        for trak_start, trak_end in _boxes(moov, 0, len(moov), b"trak"):
            if not _handler_is(moov[trak_start:trak_end], b"soun"):
                continue
            spans = _boxes(moov, trak_start, trak_end, b"elst")
            if not spans:
                break
            body = spans[0][0]
            elst = moov[body:spans[0][1]]
            rate = _timescale(first_box(moov[trak_start:trak_end], b"mdhd"))
            if struct.unpack(">I", elst[4:8])[0] != 1 or elst_media_time(elst) != priming \
                    or scale != rate:
                break
            handle.seek(start + body + 8)
            handle.write(struct.pack(">Q", samples) if elst[:1] == b"\1"
                         else struct.pack(">I", samples))
            return
    raise MediaError(f"{path.name}: the sound track's edit list is not the one expected")
