"""What each model accepts, how a wish maps onto that, and what it costs. Pure functions only.

The workflows reuse these to build storyboards and cost estimates, and the Replicate client to
build inputs, so a duration the storyboard shows is exactly the one the model receives and the
model never answers 422 to an input we built. Sources: each model's page and input schema on
Replicate (``tests/fakes/replicate/models.py`` enforces the same rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

VEO_MODEL = "google/veo-3.1"
HAILUO_MODEL = "minimax/hailuo-02"
MUSICGEN_MODEL = "meta/musicgen"
MUSICGEN_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"

REPLICATE_MODELS = {"veo3": VEO_MODEL, "hailuo": HAILUO_MODEL}

VEO_DURATIONS = (4, 6, 8)
VEO_RESOLUTIONS = ("720p", "1080p")
VEO_ASPECTS = ("16:9", "9:16")
HAILUO_DURATIONS = (6, 10)
HAILUO_RESOLUTIONS = ("512p", "768p", "1080p")
MUSICGEN_MAX_SECONDS = 30
# How much of the previous segment prompts a continuation: enough to carry key and tempo, short
# enough that prompt + new segment stays under MusicGen's 30 s ceiling.
MUSICGEN_PROMPT_SECONDS = 2


@dataclass(frozen=True)
class RenderSpec:
    """A clip request made valid for one model."""

    model: str  # "veo3" | "hailuo"
    duration: int
    resolution: str
    aspect_ratio: str


def _nearest(value: float, allowed: tuple[int, ...]) -> int:
    # Ties go to the longer clip: a scene that is slightly long reads better than a cut one.
    return min(allowed, key=lambda a: (abs(a - value), -a))


def _height(resolution: str) -> int:
    match = re.fullmatch(r"\s*(\d{3,4})p\s*", resolution or "")
    return int(match.group(1)) if match else 720


def veo_spec(duration: float | None, resolution: str = "720p", aspect_ratio: str = "16:9"
             ) -> RenderSpec:
    """Veo 3.1: 4/6/8 s, 720p/1080p, 16:9 or 9:16 (anything taller than wide becomes 9:16)."""
    dur = 8 if duration is None else _nearest(float(duration), VEO_DURATIONS)
    res = "1080p" if _height(resolution) >= 900 else "720p"
    return RenderSpec("veo3", dur, res, normalize_aspect(aspect_ratio))


def hailuo_spec(duration: float | None, resolution: str = "768p", aspect_ratio: str = "16:9"
                ) -> RenderSpec:
    """Hailuo-02: 6 or 10 s; 10 s exists only at 768p, so a 10 s wish moves to 768p."""
    dur = 6 if duration is None else _nearest(float(duration), HAILUO_DURATIONS)
    height = _height(resolution)
    res = min(HAILUO_RESOLUTIONS, key=lambda r: abs(_height(r) - height))
    if dur == 10:
        res = "768p"
    # Hailuo takes its aspect ratio from the first frame; we keep the wish for sizing/stitching.
    return RenderSpec("hailuo", dur, res, normalize_aspect(aspect_ratio))


def render_spec(model: str, duration: float | None, resolution: str = "",
                aspect_ratio: str = "16:9") -> RenderSpec:
    """The nearest valid (duration, resolution, aspect) for ``model`` ("veo3" or "hailuo")."""
    if model == "veo3":
        return veo_spec(duration, resolution or "720p", aspect_ratio)
    if model == "hailuo":
        return hailuo_spec(duration, resolution or "768p", aspect_ratio)
    raise ValueError(f"unknown video model {model!r}")


_RATIO = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*")


def normalize_aspect(aspect_ratio: str) -> str:
    """``16:9`` or ``9:16``: portrait-ish ratios (``9:16``, ``4:5``, ``3:4``) become ``9:16``."""
    match = _RATIO.fullmatch(aspect_ratio or "")
    if not match:
        return "16:9"
    w, h = float(match.group(1)), float(match.group(2))
    return "9:16" if h > w else "16:9"


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Pixel size of ``<N>p`` at ``aspect_ratio``: 720p 16:9 → 1280×720, 9:16 → 720×1280.

    Both sides even (H.264 with yuv420p needs it).
    """
    short = _height(resolution)
    long_ = int(round(short * 16 / 9 / 2)) * 2
    if aspect_ratio == "1:1":
        return short, short
    if normalize_aspect(aspect_ratio) == "9:16":
        return short, long_
    return long_, short


def frame_ratio(model: str, aspect_ratio: str) -> str:
    """The shape the first and last frames are cropped to before ``model`` gets them.

    Veo 3.1 renders 16:9 or 9:16 (a 1:1 job renders 16:9, cropped to a square afterwards), so
    its frames match the ratio it renders. Hailuo-02 has no aspect input and follows its first
    frame, so its frames are cut to the job's own ratio, square included.
    """
    if model == "hailuo" and aspect_ratio == "1:1":
        return "1:1"
    return normalize_aspect(aspect_ratio)


def ratio_value(aspect_ratio: str) -> float:
    """``16:9`` → 1.777…; a ratio that does not parse is 16:9."""
    match = _RATIO.fullmatch(aspect_ratio or "")
    if not match or not float(match.group(2)):
        return 16 / 9
    return float(match.group(1)) / float(match.group(2))


def _frames(first_key: str, first: str | None, last_key: str, last: str | None
            ) -> dict[str, str]:
    """The image fields of an input: none for text-to-video (both models take a prompt
    alone), and an end frame only with a first frame (it interpolates from one)."""
    if not first:
        return {}
    return {first_key: first, last_key: last or first}


def veo_input(spec: RenderSpec, *, prompt: str, image: str | None,
              last_frame: str | None) -> dict[str, Any]:
    return {
        "prompt": " ".join(prompt.split()) or "Smooth cinematic transition between images",
        **_frames("image", image, "last_frame", last_frame),
        "duration": spec.duration,
        "aspect_ratio": spec.aspect_ratio,
        "resolution": spec.resolution,
        "generate_audio": False,
    }


def hailuo_input(spec: RenderSpec, *, prompt: str, first_frame_image: str | None,
                 last_frame_image: str | None) -> dict[str, Any]:
    return {
        "prompt": " ".join(prompt.split()) or "Smooth cinematic transition between images",
        **_frames("first_frame_image", first_frame_image, "last_frame_image",
                  last_frame_image),
        "duration": spec.duration,
        "resolution": spec.resolution,
        "prompt_optimizer": True,
    }


def music_duration(duration: float) -> int:
    """MusicGen takes whole seconds, 1..30."""
    return max(1, min(MUSICGEN_MAX_SECONDS, int(round(duration))))


def musicgen_input(*, prompt: str, duration: float, input_audio: str | None = None,
                   previous_seconds: float = 0.0) -> dict[str, Any]:
    """MusicGen inputs; with ``input_audio`` (a URL or ``data:`` URI) a continuation of its end.

    The continuation window is the last :data:`MUSICGEN_PROMPT_SECONDS` of the previous segment,
    as integers (the schema declares integers), and the new duration is cut so that prompt plus
    new audio stays within the 30 s a prediction can make.
    """
    body: dict[str, Any] = {
        "prompt": " ".join(prompt.split()) or "Cinematic background music",
        "model_version": "stereo-large",
        "output_format": "mp3",
        "normalization_strategy": "loudness",
        "duration": music_duration(duration),
    }
    if input_audio:
        end = max(1, int(previous_seconds)) if previous_seconds else MUSICGEN_PROMPT_SECONDS
        start = max(0, end - MUSICGEN_PROMPT_SECONDS)
        body.update(input_audio=input_audio, continuation=True,
                    continuation_start=start, continuation_end=end)
        body["duration"] = min(body["duration"], MUSICGEN_MAX_SECONDS - (end - start))
    return body


# --- prices ---------------------------------------------------------------------------------
# One table. Replicate's own prices were not retrievable when this was written: these are the
# public list prices of other hosts, marked as estimates; change them here and nowhere else.


@dataclass(frozen=True)
class Prices:
    veo_per_second: float = 0.20  # Veo 3.1 without audio
    hailuo_per_clip: tuple[tuple[str, int, float], ...] = (
        ("512p", 6, 0.10), ("512p", 10, 0.15),
        ("768p", 6, 0.23), ("768p", 10, 0.56),
        ("1080p", 6, 0.49),
    )
    musicgen_per_predict_second: float = 0.0014  # billed by GPU time (A100)
    musicgen_seconds_per_audio_second: float = 1.5  # for estimates before a predict_time exists
    # (input, output) USD per million tokens
    llm_per_million: tuple[tuple[str, float, float], ...] = (
        ("grok-4-1-fast-non-reasoning", 0.20, 0.50),
        ("grok-4-1-fast-reasoning", 0.20, 0.50),
        ("grok-4-fast-non-reasoning", 0.20, 0.50),
        ("gpt-4o-mini", 0.15, 0.60),
    )
    llm_default_per_million: tuple[float, float] = (0.20, 0.50)


PRICES = Prices()


def render_cost(model: str, duration: int, resolution: str, prices: Prices = PRICES) -> float:
    """Price of one clip (of a spec already valid for ``model``)."""
    if model == "veo3":
        return round(prices.veo_per_second * duration, 4)
    if model == "hailuo":
        for res, dur, price in prices.hailuo_per_clip:
            if res == resolution and dur == duration:
                return price
        return max(p for _, _, p in prices.hailuo_per_clip)
    return 0.0


def music_cost(duration: float, predict_time: float | None = None,
               prices: Prices = PRICES) -> float:
    """Actual (from ``predict_time``) or estimated (from the audio length) MusicGen price."""
    seconds = predict_time if predict_time is not None else (
        duration * prices.musicgen_seconds_per_audio_second)
    return round(prices.musicgen_per_predict_second * seconds, 5)


def llm_cost(model: str, prompt_tokens: int, completion_tokens: int,
             prices: Prices = PRICES) -> float:
    per_in, per_out = prices.llm_default_per_million
    for name, p_in, p_out in prices.llm_per_million:
        if name == model:
            per_in, per_out = p_in, p_out
            break
    return round((prompt_tokens * per_in + completion_tokens * per_out) / 1_000_000, 6)


def scene_count_for_duration(target_seconds: float | None) -> int:
    """Scenes for a standard job: ≤15→3, ≤30→4, ≤45→5, ≤60→6, else 7 (default target 30)."""
    target = target_seconds or 30
    for limit, count in ((15, 3), (30, 4), (45, 5), (60, 6)):
        if target <= limit:
            return count
    return 7
