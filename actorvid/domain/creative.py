"""Creative options of a job: frame shape, transitions, title and end cards, music level.

One frozen value per job, parsed once from the request at the API edge, stored with the job
as a plain document (:meth:`CreativeOptions.to_document`) and read back by every layer below
(:meth:`CreativeOptions.from_document`). The defaults render exactly what a job without these
fields rendered before they existed: 16:9 720p, hard cuts, no cards, music at 0.8.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from actorvid.domain.models import frame_size, normalize_aspect

AspectRatio = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["720p", "1080p"]
Fit = Literal["crop", "pad"]
TransitionKind = Literal["cut", "crossfade", "fadeblack"]
CardBackground = Literal["still", "brand"]

ASPECT_RATIOS: tuple[str, ...] = ("16:9", "9:16", "1:1")
RESOLUTIONS: tuple[str, ...] = ("720p", "1080p")
FITS: tuple[str, ...] = ("crop", "pad")
TRANSITIONS: tuple[str, ...] = ("cut", "crossfade", "fadeblack")
CARD_BACKGROUNDS: tuple[str, ...] = ("still", "brand")
TRANSITION_SECONDS = (0.25, 1.0)
CARD_SECONDS = (2.0, 5.0)
DEFAULT_TRANSITION_SECONDS = 0.5
DEFAULT_CARD_SECONDS = 3.0
DEFAULT_MUSIC_VOLUME = 0.8
# Where a job's parameters keep its options (CreativeOptions.to_document()).
PARAMETERS_KEY = "creative_options"



@dataclass(frozen=True)
class Transition:
    """How one shot gives way to the next. A ``cut`` has no overlap; ``crossfade`` and
    ``fadeblack`` overlap the two shots by ``seconds`` (the video gets that much shorter)."""

    kind: TransitionKind = "cut"
    seconds: float = DEFAULT_TRANSITION_SECONDS

    @property
    def overlap(self) -> float:
        return 0.0 if self.kind == "cut" else self.seconds


@dataclass(frozen=True)
class Card:
    """A title (before the first scene) or end card (after the last): text drawn over a
    softened still of the neighbouring scene, or over the brand colour."""

    text: str
    subtitle: str = ""
    seconds: float = DEFAULT_CARD_SECONDS
    background: CardBackground = "still"

    def to_document(self) -> dict[str, Any]:
        return {"text": self.text, "subtitle": self.subtitle, "seconds": self.seconds,
                "background": self.background}

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> Card | None:
        if not document:
            return None
        return cls(text=str(document.get("text") or ""),
                   subtitle=str(document.get("subtitle") or ""),
                   seconds=float(document.get("seconds") or DEFAULT_CARD_SECONDS),
                   background=document.get("background") or "still")


@dataclass(frozen=True)
class CreativeOptions:
    aspect_ratio: AspectRatio = "16:9"
    resolution: Resolution = "720p"
    fit: Fit = "crop"
    transition: Transition = field(default_factory=Transition)
    title_card: Card | None = None
    end_card: Card | None = None
    music_volume: float = DEFAULT_MUSIC_VOLUME

    def frame_size(self) -> tuple[int, int]:
        """Output frame in pixels: 1280×720 / 720×1280 / 720×720 at 720p, ×1.5 at 1080p."""
        return frame_size(self.resolution, self.aspect_ratio)

    def cards(self) -> list[Card]:
        return [c for c in (self.title_card, self.end_card) if c is not None]

    def video_seconds(self, clip_seconds: Sequence[float]) -> float:
        """The finished video's length for clips of these lengths (cards included)."""
        segments = [*clip_seconds]
        if self.title_card:
            segments.insert(0, self.title_card.seconds)
        if self.end_card:
            segments.append(self.end_card.seconds)
        return video_seconds(segments, self.transition)

    def to_document(self) -> dict[str, Any]:
        return {
            "version": 1,
            "aspectRatio": self.aspect_ratio,
            "resolution": self.resolution,
            "fit": self.fit,
            "transition": self.transition.kind,
            "transitionSeconds": self.transition.seconds,
            "titleCard": self.title_card.to_document() if self.title_card else None,
            "endCard": self.end_card.to_document() if self.end_card else None,
            "musicVolume": self.music_volume,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> CreativeOptions:
        """Read what :meth:`to_document` wrote; a missing document (an older job) reads as
        the defaults."""
        if not document:
            return cls()
        return cls(
            aspect_ratio=document.get("aspectRatio") or "16:9",
            resolution=document.get("resolution") or "720p",
            fit=document.get("fit") or "crop",
            transition=Transition(document.get("transition") or "cut",
                                  float(document.get("transitionSeconds")
                                        or DEFAULT_TRANSITION_SECONDS)),
            title_card=Card.from_document(document.get("titleCard")),
            end_card=Card.from_document(document.get("endCard")),
            music_volume=float(document["musicVolume"]) if document.get("musicVolume")
            is not None else DEFAULT_MUSIC_VOLUME,
        )


def job_options(parameters: Mapping[str, Any]) -> CreativeOptions:
    """A job's creative options from its stored parameters. A job stored before the options
    existed keeps the ratio it asked for then (``aspectRatio`` or a brief's
    ``creative.videoSpecs.format``), with every other option at its default."""
    stored = parameters.get(PARAMETERS_KEY)
    if stored:
        return CreativeOptions.from_document(stored)
    aspect = (parameters.get("aspectRatio")
              or ((parameters.get("creative") or {}).get("videoSpecs") or {}).get("format")
              or "16:9")
    return CreativeOptions(aspect_ratio=aspect if aspect in ASPECT_RATIOS
                           else normalize_aspect(str(aspect)))  # type: ignore[arg-type]


def video_seconds(segment_seconds: Sequence[float], transition: Transition) -> float:
    """Segments joined by ``transition``: their sum minus one overlap per join."""
    if not segment_seconds:
        return 0.0
    return float(sum(segment_seconds)) - transition.overlap * (len(segment_seconds) - 1)
