"""Magic bytes decide what a file is: real files made by ffmpeg, and hand-made heads."""

from __future__ import annotations

import pytest

from actorvid.media import magic
from actorvid.media.magic import sniff, svg_size

from .conftest import MINIMAL_PDF, SVG, Media


@pytest.mark.parametrize(("name", "asset_type", "fmt", "content_type"), [
    ("image.png", "image", "png", "image/png"),
    ("image.jpg", "image", "jpeg", "image/jpeg"),
    ("image.gif", "image", "gif", "image/gif"),
    ("image.webp", "image", "webp", "image/webp"),
    ("logo.svg", "image", "svg", "image/svg+xml"),
    ("video.mp4", "video", "mp4", "video/mp4"),
    ("video.mov", "video", "mov", "video/quicktime"),
    ("video.webm", "video", "webm", "video/webm"),
    ("video.mkv", "video", "mkv", "video/x-matroska"),
    ("audio.mp3", "audio", "mp3", "audio/mpeg"),
    ("audio.wav", "audio", "wav", "audio/wav"),
    ("audio.ogg", "audio", "ogg", "audio/ogg"),
    ("audio.aac", "audio", "aac", "audio/aac"),
    ("audio.m4a", "audio", "m4a", "audio/mp4"),
    ("doc.pdf", "document", "pdf", "application/pdf"),
])
def test_real_files_are_recognised(media: Media, name: str, asset_type: str, fmt: str,
                                   content_type: str) -> None:
    found = sniff(media.bytes(name)[:magic.SNIFF_BYTES])
    assert found is not None
    assert (found.asset_type, found.format, found.content_type) == (asset_type, fmt,
                                                                    content_type)


@pytest.mark.parametrize("head", [
    b"",
    b"hello world, just text",
    b"<!DOCTYPE html><html><body><svg></svg></body></html>",
    b"<html><svg xmlns='http://www.w3.org/2000/svg'/></html>",
    b"PK\x03\x04 a zip or docx",
    b"\x7fELF\x02\x01\x01",
    b"MZ\x90\x00 windows exe",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIF image: not accepted
    b"RIFF\x00\x00\x00\x00XXXX",
    b"\xff\xff\xff\xff",  # sync bits with reserved version/layer values
    b"fLaC\x00\x00\x00\x22",
])
def test_unknown_or_unsupported_bytes_are_refused(head: bytes) -> None:
    assert sniff(head) is None


def test_mp3_by_frame_sync_without_id3(media: Media) -> None:
    data = media.bytes("audio.mp3")
    if data.startswith(b"ID3"):
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | byte
        data = data[10 + size:]
    assert data[0] == 0xFF
    assert sniff(data[:64]) is magic.MP3


def test_id3_tag_in_front_of_adts_is_aac(media: Media) -> None:
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    assert sniff(tag + media.bytes("audio.aac")[:200]) is magic.AAC


@pytest.mark.parametrize("text", [
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"\xef\xbb\xbf  <svg>",
    b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg width="1" height="1"/>',
    b"<!-- c --><!-- d -->\n<SVG viewBox='0 0 10 10'></SVG>",
])
def test_svg_variants(text: bytes) -> None:
    found = sniff(text)
    assert found is magic.SVG and found.active


def test_svg_size_from_attributes_or_viewbox() -> None:
    assert svg_size(SVG) == (40, 30)
    assert svg_size(b"<svg viewBox='0 0 120.4 80'></svg>") == (120, 80)
    assert svg_size(b"<svg width='50%'></svg>") == (None, None)


def test_declared_type_compatibility() -> None:
    assert magic.PNG.matches("image") and magic.PNG.matches(None)
    assert not magic.PNG.matches("video")
    # An MP4 may hold only audio; ffmpeg decides later.
    assert magic.MP4.matches("audio") and not magic.MP4.matches("image")
    assert sniff(MINIMAL_PDF) is magic.PDF
