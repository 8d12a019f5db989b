"""Title and end cards: a line of text (and a subtitle) as one shot in the output format.

A card is drawn over a softened (blurred, darkened) still of its neighbouring scene, or over a
plain brand colour, at the job's frame size, 30 fps, tv-range BT.709 ``yuv420p`` with a silent
48 kHz stereo AAC track — the shape of every clip (:func:`actorvid.media.render.clip_output_args`
and :mod:`actorvid.media.output`), so the finish step joins it like any other shot.

The font ships with the package (DejaVu Sans, Bitstream Vera licence, ``fonts/``), so a card
looks the same on every machine. Layout is computed here, not left to ``drawtext``: glyph
advances come from the font's own tables (fontTools), the text wraps at word boundaries and
shrinks until the whole block fits inside a :data:`SAFE_MARGIN` of the frame on every side.
Each line is drawn by its own ``drawtext`` from a text file (never the filter string), so no user
text needs escaping. Text the font has no glyph for is refused up front (:func:`undrawable`)
instead of rendering as boxes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont

from actorvid.domain.creative import Card
from actorvid.media.output import FPS, TV_BT709
from actorvid.media.render import clip_output_args, cover

FONT_DIR = Path(__file__).with_name("fonts")
FONT_FILES = {"bold": FONT_DIR / "DejaVuSans-Bold.ttf", "regular": FONT_DIR / "DejaVuSans.ttf"}
SAFE_MARGIN = 0.05  # share of each side that text never enters
# A few pixels more inside the margin: drawtext applies kerning and antialiasing our advance
# sums do not see.
INSET = 4
TITLE_EM = 0.12  # the title's starting size, as a share of the frame's short side
SUBTITLE_SCALE = 0.55  # subtitle size relative to the title's
GAP_EM = 0.45  # space between title and subtitle, in title ems
MIN_SIZE = 10  # pixels; below this the text is broken inside words instead
SHRINK = 0.92
BLUR_SIGMA = 24
DARKEN = -0.32  # eq brightness on the still: white text reads on any photo


@dataclass(frozen=True)
class Font:
    path: Path
    units_per_em: int
    ascent: int
    descent: int  # positive: below the baseline
    advances: Mapping[int, int]  # code point → advance width in font units

    def width(self, text: str, size: float) -> float:
        fallback = self.units_per_em
        return sum(self.advances.get(ord(c), fallback) for c in text) * size / self.units_per_em

    def line_height(self, size: float) -> float:
        return (self.ascent + self.descent) * size / self.units_per_em


@functools.cache
def load_font(weight: str = "bold") -> Font:
    """The packaged font of ``weight`` (``bold`` or ``regular``) with its metrics."""
    path = FONT_FILES["regular" if weight == "regular" else "bold"]
    font = TTFont(str(path), lazy=True)
    metrics = font["hmtx"].metrics
    advances = {cp: metrics[name][0] for cp, name in font.getBestCmap().items()}
    hhea = font["hhea"]
    result = Font(path, int(font["head"].unitsPerEm), int(hhea.ascent), abs(int(hhea.descent)),
                  advances)
    font.close()
    return result


def undrawable(text: str) -> list[str]:
    """The characters of ``text`` (each once, in order) that a card font has no glyph for."""
    fonts = (load_font("bold"), load_font("regular"))
    missing: list[str] = []
    for char in text:
        if char.isspace() or char in missing:
            continue
        if any(ord(char) not in f.advances for f in fonts):
            missing.append(char)
    return missing


@dataclass(frozen=True)
class Line:
    text: str
    font: Font
    size: int
    y: int  # top of the line (drawtext ``y_align=font``), in pixels
    role: str = "title"  # or "subtitle"


def _wrap(font: Font, text: str, size: int, width: float, *, break_words: bool
          ) -> list[str] | None:
    """Greedy word wrap of ``text`` at ``size`` into lines no wider than ``width``; None when
    a word alone is wider (unless ``break_words``, which splits it between characters)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if font.width(word, size) > width:
            if not break_words:
                return None
            pieces, piece = [], ""
            for char in word:
                if piece and font.width(piece + char, size) > width:
                    pieces.append(piece)
                    piece = ""
                piece += char
            word_lines = [*pieces, piece]
        else:
            word_lines = [word]
        for part in word_lines:
            candidate = f"{current} {part}" if current else part
            if current and font.width(candidate, size) > width:
                lines.append(current)
                current = part
            else:
                current = candidate
    if current:
        lines.append(current)
    return lines


def layout(card: Card, width: int, height: int, *, weight: str = "bold") -> list[Line]:
    """The lines of ``card`` centred in ``width``×``height``: the largest size (from
    :data:`TITLE_EM` of the short side, shrinking) at which the title and subtitle fit
    inside the safe margin."""
    title_font, sub_font = load_font(weight), load_font("regular")
    left = math.ceil(width * SAFE_MARGIN) + INSET
    top = math.ceil(height * SAFE_MARGIN) + INSET
    box_w, box_h = width - 2 * left, height - 2 * top
    size = max(MIN_SIZE, round(min(width, height) * TITLE_EM))
    while True:
        smallest = size <= MIN_SIZE
        sub_size = max(MIN_SIZE, round(size * SUBTITLE_SCALE))
        title = _wrap(title_font, card.text, size, box_w, break_words=smallest)
        subtitle = (_wrap(sub_font, card.subtitle, sub_size, box_w, break_words=smallest)
                    if card.subtitle.strip() else [])
        if title is not None and subtitle is not None:
            pitch, sub_pitch = title_font.line_height(size), sub_font.line_height(sub_size)
            gap = GAP_EM * size if subtitle else 0.0
            total = len(title) * pitch + gap + len(subtitle) * sub_pitch
            if total <= box_h or smallest:
                break
        size = max(MIN_SIZE, int(size * SHRINK))
    y = top + (box_h - total) / 2
    lines = []
    for text in title:
        lines.append(Line(text, title_font, size, math.floor(y)))
        y += pitch
    y += gap
    for text in subtitle:
        lines.append(Line(text, sub_font, sub_size, math.floor(y), "subtitle"))
        y += sub_pitch
    return lines


def _luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(int(color[i:i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colors(background: str | None, accent: str) -> tuple[str, str]:
    """(title, subtitle) colours: white or near-black, whichever reads on ``background``,
    and the accent for the subtitle when it reads there too. Over a darkened photo
    (``background`` None) both are white: no accent is sure to read on every photo."""
    if background is None:
        return "ffffff", "ffffff"
    base = background
    title = "ffffff" if contrast("ffffff", base) >= contrast("111111", base) else "111111"
    subtitle = accent if contrast(accent, base) >= 3.0 else title
    return title, subtitle


def card_args(card: Card, out: Path, workdir: Path, *, width: int, height: int,
              still: Path | None, primary: str, secondary: str, weight: str = "bold",
              preset: str = "veryfast") -> list[str]:
    """ffmpeg arguments rendering ``card`` into ``out`` (an .mp4 of ``card.seconds``).

    Over ``still`` (blurred, darkened, cover-cropped to the frame) when the card's background
    is ``still`` and a still is given; over ``primary`` otherwise. Line texts are written to
    files in ``workdir``.
    """
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p")
    seconds = float(card.seconds)
    use_still = card.background == "still" and still is not None
    if use_still:
        source = ["-loop", "1", "-framerate", str(FPS), "-t", f"{seconds:.3f}", "-i", str(still)]
        chain = (f"{cover(width, height)},gblur=sigma={BLUR_SIGMA},"
                 f"scale=in_range=auto:out_range=tv:out_color_matrix=bt709,"
                 f"eq=brightness={DARKEN}:saturation=0.7")
    else:
        source = ["-f", "lavfi", "-i",
                  f"color=c=0x{primary}:s={width}x{height}:r={FPS}:d={seconds:.3f}"]
        chain = "setsar=1"
    title_color, subtitle_color = text_colors(None if use_still else primary, secondary)
    draws = []
    lines = layout(card, width, height, weight=weight)
    for index, line in enumerate(lines):
        text_file = workdir / f"card-{out.stem}-{index}.txt"
        text_file.write_text(line.text, encoding="utf-8")
        color = title_color if line.role == "title" else subtitle_color
        draws.append(f"drawtext=fontfile='{line.font.path}':textfile='{text_file}'"
                     f":expansion=none:fontsize={line.size}:fontcolor=0x{color}"
                     f":x=(w-text_w)/2:y={line.y}:y_align=font")
    graph = f"[0:v]{chain},fps={FPS},{','.join([*draws, TV_BT709])}[v]"
    return [
        *source,
        "-f", "lavfi", "-t", f"{seconds:.3f}", "-i", "anullsrc=r=48000:cl=stereo",
        "-filter_complex", graph, "-map", "[v]", "-map", "1:a",
        *clip_output_args(out, duration=seconds, fps=FPS, preset=preset),
    ]

