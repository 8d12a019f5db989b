"""What a file is, from its first bytes; never from its name or a declared Content-Type.

:func:`sniff` looks at the head of a file (4 KiB is plenty) and answers the asset type, our
format name and the content type we will serve it with, or ``None`` for bytes we do not accept.
Every ingestion path calls it before anything is stored, so a refused upload leaves nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SNIFF_BYTES = 4096

ASSET_TYPES = ("image", "video", "audio", "document")


@dataclass(frozen=True, slots=True)
class Sniffed:
    asset_type: str
    format: str
    content_type: str
    # Containers that may turn out to hold only audio once ffmpeg has looked inside.
    may_be_audio: bool = False

    @property
    def active(self) -> bool:
        """Content a browser would run (scripts in SVG): never served inline."""
        return self.content_type == "image/svg+xml"

    def matches(self, declared: str | None) -> bool:
        """Whether a client-declared asset type is compatible with these bytes."""
        if declared is None:
            return True
        return declared == self.asset_type or (declared == "audio" and self.may_be_audio)


PNG = Sniffed("image", "png", "image/png")
JPEG = Sniffed("image", "jpeg", "image/jpeg")
GIF = Sniffed("image", "gif", "image/gif")
WEBP = Sniffed("image", "webp", "image/webp")
SVG = Sniffed("image", "svg", "image/svg+xml")
MP4 = Sniffed("video", "mp4", "video/mp4", may_be_audio=True)
MOV = Sniffed("video", "mov", "video/quicktime", may_be_audio=True)
WEBM = Sniffed("video", "webm", "video/webm", may_be_audio=True)
MKV = Sniffed("video", "mkv", "video/x-matroska", may_be_audio=True)
AVI = Sniffed("video", "avi", "video/x-msvideo")
MP3 = Sniffed("audio", "mp3", "audio/mpeg")
WAV = Sniffed("audio", "wav", "audio/wav")
OGG = Sniffed("audio", "ogg", "audio/ogg")
AAC = Sniffed("audio", "aac", "audio/aac")
M4A = Sniffed("audio", "m4a", "audio/mp4")
PDF = Sniffed("document", "pdf", "application/pdf")

# What an audio-only MP4/WebM/Matroska becomes once probed.
AUDIO_ONLY = {"mp4": M4A, "mov": M4A, "webm": Sniffed("audio", "webm", "audio/webm"),
              "mkv": Sniffed("audio", "mka", "audio/x-matroska")}

# ISO base media brands (``ftyp``) by family; anything else with ``ftyp`` is read as MP4,
# except the image brands (HEIF/AVIF), which we do not accept.
_QUICKTIME_BRANDS = {b"qt  "}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
                 b"avif", b"avis"}


def sniff(head: bytes) -> Sniffed | None:
    """Identify ``head`` (the first bytes of a file), or ``None`` when it is not accepted."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and len(head) >= 12:
        kind = head[8:12]
        return {b"WEBP": WEBP, b"WAVE": WAV, b"AVI ": AVI}.get(kind)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: the DocType string says WebM or Matroska.
        return WEBM if b"webm" in head[:64] else MKV
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"ID3"):
        return _after_id3(head)
    audio = _frame_sync(head)
    if audio is not None:
        return audio
    if _is_svg(head):
        return SVG
    return None


def _iso_media(head: bytes) -> Sniffed | None:
    major = head[8:12]
    compatible = {head[i:i + 4] for i in range(16, min(len(head), int.from_bytes(
        head[0:4], "big")), 4)}
    if major in _IMAGE_BRANDS:
        return None
    if major in _QUICKTIME_BRANDS:
        return MOV
    if major in _AUDIO_BRANDS:
        return M4A
    if compatible & _IMAGE_BRANDS and not compatible & {b"isom", b"iso2", b"mp41", b"mp42"}:
        return None
    return MP4


def _after_id3(head: bytes) -> Sniffed:
    # An ID3v2 tag (10-byte header, synchsafe size) usually precedes MP3 frames; the frames
    # after it tell MP3 from ADTS AAC when they are within the head.
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    start = 10 + size + (10 if len(head) > 5 and head[5] & 0x10 else 0)
    found = _frame_sync(head[start:]) if start < len(head) - 4 else None
    return found or MP3


def _frame_sync(head: bytes) -> Sniffed | None:
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0x3
    version = (head[1] >> 3) & 0x3
    if layer == 0 and head[1] & 0xF0 == 0xF0:
        # ADTS: 12-bit sync, layer 00; sampling index 13-15 are invalid.
        return AAC if (head[2] >> 2) & 0xF < 13 else None
    if version == 1 or layer == 0:  # reserved values
        return None
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0x3
    if bitrate in (0, 0xF) or sample_rate == 0x3:
        return None
    return MP3


_XML_DECL = re.compile(rb"<\?xml[^>]*\?>")
_COMMENT = re.compile(rb"<!--.*?-->", re.S)
_DOCTYPE = re.compile(rb"<!doctype\s+svg[^>\[]*(\[.*?\])?\s*>", re.S | re.I)
_SVG_ROOT = re.compile(rb"<svg[\s>/]", re.I)


def _is_svg(head: bytes) -> bool:
    # SVG is text: an optional BOM and XML prolog (declaration, comments, an svg DOCTYPE),
    # then the root element must be <svg>. An HTML page that merely contains <svg> is not.
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    while True:
        for pattern in (_XML_DECL, _COMMENT, _DOCTYPE):
            match = pattern.match(text)
            if match:
                text = text[match.end():].lstrip()
                break
        else:
            break
    return bool(_SVG_ROOT.match(text))


_SVG_TAG = re.compile(rb"<svg\b[^>]*>", re.I | re.S)
_ATTR = re.compile(rb"""\b(width|height|viewBox)\s*=\s*["']([^"']*)["']""", re.I)


def svg_size(head: bytes) -> tuple[int | None, int | None]:
    """Width and height of an SVG from its root element (pixels, else the viewBox)."""
    tag = _SVG_TAG.search(head)
    if tag is None:
        return None, None
    attrs = {k.decode().lower(): v.decode("ascii", "replace") for k, v in
             _ATTR.findall(tag.group(0))}

    def number(value: str | None) -> int | None:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px)?\s*", value or "")
        return int(round(float(match.group(1)))) if match else None

    width, height = number(attrs.get("width")), number(attrs.get("height"))
    if (width is None or height is None) and "viewbox" in attrs:
        parts = re.split(r"[\s,]+", attrs["viewbox"].strip())
        if len(parts) == 4:
            try:
                width = width or int(round(float(parts[2])))
                height = height or int(round(float(parts[3])))
            except ValueError:
                pass
    return width, height
