"""What an MP4's index says, read without decoding: the video track's timescale and sync
samples, its sample entry and edit list, whether a sound track is only silent AAC frames.

``actorvid.media.shots`` decides from these whether a clip joins by copy (its keyframes),
conforms to a shot (its ``avcC``) or needs its sound decoded at all; reading boxes is cheaper
and exacter than asking ffprobe for every packet.
"""

from __future__ import annotations

import struct
from pathlib import Path

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


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


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


def read_moov(path: Path) -> bytes:
    """The file's ``moov`` box (read alone: the media data may be hundreds of MiB)."""
    with path.open("rb") as handle:
        while header := handle.read(8):
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header)
            extra = 0
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
                extra = 8
            if kind == b"moov":
                return header + handle.read(size - 8 - extra)
            if size < 8 + extra:  # 0 (to the end) or not an MP4 box at all (any clip)
                break
            handle.seek(size - 8 - extra, 1)
    raise MediaError(f"{path.name} has no MP4 index")


def _boxes(data: bytes, start: int, end: int, want: bytes) -> list[tuple[int, int]]:
    """(start, end) of the bodies of every ``want`` box below ``start:end``, descending
    through the container boxes of a track."""
    found = []
    pos = start
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
