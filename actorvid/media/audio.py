"""A synthesised music bed (local music provider): a soft chord pulsing at a tempo.

Each scene type gets its own key and tempo, so consecutive scenes are audibly different while
the soundtrack stays calm enough to sit under any clip.

Under the chord lies a faint pink-noise floor (:data:`NOISE_FLOOR`, about −46 dBFS, like a
recording's room tone). Pure sines are the worst case of ffmpeg's ``fast`` AAC coder, which
every track we make is encoded with: 56 s of the bare chord took 2.4 s to encode, with the
floor 0.66 s (the same machine, one after the other). MusicGen's own output is noise-like.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BedStyle:
    root_hz: float
    bpm: int
    minor: bool = False


# Keys and tempi for the scene types we know; anything else gets a stable hash-picked style.
SCENE_STYLES: dict[str, BedStyle] = {
    "grand arrival": BedStyle(130.81, 90),  # C
    "refined interiors": BedStyle(146.83, 95),  # D
    "guest room sanctuary": BedStyle(174.61, 80),  # F
    "culinary excellence": BedStyle(196.00, 100),  # G
    "wellness & recreation": BedStyle(220.00, 75, minor=True),  # A minor
    "unique experiences": BedStyle(164.81, 105),  # E
    "lasting impression": BedStyle(130.81, 85),  # C again, to resolve home
}
# Amplitude of the noise floor: inaudible under the chord, enough for the AAC coder.
NOISE_FLOOR = 0.005
_ROOTS = (130.81, 146.83, 164.81, 174.61, 196.00, 220.00, 246.94)


def style_for(scene_type: str) -> BedStyle:
    key = " ".join(scene_type.lower().split())
    if key in SCENE_STYLES:
        return SCENE_STYLES[key]
    digest = hashlib.sha256(key.encode()).digest()
    return BedStyle(_ROOTS[digest[0] % len(_ROOTS)], 72 + digest[1] % 48, minor=digest[2] % 2 == 1)


def bed_args(out: Path, *, duration: float, style: BedStyle, sample_rate: int = 44100
             ) -> list[str]:
    """ffmpeg arguments writing ``duration`` seconds of the bed to ``out`` (.mp3 or .wav)."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    third = 1.1892 if style.minor else 1.2599
    r = style.root_hz
    beat = style.bpm / 60.0
    expr = (f"(0.22*sin(2*PI*{r}*t)+0.16*sin(2*PI*{r * third:.3f}*t)"
            f"+0.14*sin(2*PI*{r * 1.4983:.3f}*t)+0.08*sin(2*PI*{r / 2:.3f}*t))"
            f"*(0.65+0.35*pow(0.5+0.5*cos(2*PI*{beat:.4f}*t),3))")
    # Only a click guard: segments meet in crossfades centred on the cuts, and the finished
    # track fades in and out as a whole. A longer fade here dips the music at every cut.
    fade = min(0.02, duration / 4)
    # 192 kb/s keeps the noise floor (at 128 the encoder drops it, and the AAC encode of the
    # track downstream slows to twice the time).
    codec = (["-c:a", "libmp3lame", "-b:a", "192k"] if out.suffix == ".mp3"
             else ["-c:a", "pcm_s16le"])
    # Synthesised once, in mono (the expression is evaluated per sample: half the work),
    # then sent to both channels.
    return [
        "-f", "lavfi", "-i", f"aevalsrc='{expr}':s={sample_rate}:d={duration:.3f}",
        "-f", "lavfi", "-i", (f"anoisesrc=c=pink:a={NOISE_FLOOR}:r={sample_rate}:seed=1"
                              f":d={duration:.3f}"),
        "-filter_complex",
        (f"[0:a]pan=stereo|c0=c0|c1=c0[chord];"
         f"[1:a]aformat=channel_layouts=stereo[floor];"
         f"[chord][floor]amix=inputs=2:normalize=0:duration=first,"
         f"afade=t=in:st=0:d={fade:.3f},afade=t=out:st={duration - fade:.3f}:d={fade:.3f}"),
        *codec, "-t", f"{duration:.3f}", "-y", str(out),
    ]
