"""What a job was asked to do, as a value: parsed once from the request at the API edge.

Every job kind shares one frozen :class:`JobParameters` (the fields of the other kinds keep
their defaults), stored in ``jobs.parameters`` as a versioned document
(:meth:`JobParameters.to_document`, snake_case, ``"version": 2``) and read back by the
pipelines, the preview rules and the API's views through :meth:`JobParameters.from_document`.

Version 1 is the request body itself, camelCase, as every row before this module stored it
(no ``version`` key). It is read by the same function the API parses a checked request with,
:meth:`JobParameters.from_request`, so there is one reading of the request's names, and old
rows need no migration.

A standard job keeps its brief as the user wrote it (``brief``): the storyboard writer hands
it to the model whole, and ``workflows/brief.py`` reads its length and frame from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from actorvid.domain.creative import PARAMETERS_KEY, CreativeOptions, job_options

VERSION = 2
DEFAULT_PAIRS = 7
DEFAULT_AUDIO_SECONDS = 4.0
DEFAULT_MUSIC_MODEL = "meta/musicgen"


@dataclass(frozen=True)
class RenderWish:
    """How the request wants its clips made (the storyboard snaps it to what models take)."""

    model: str = "veo3"
    clip_duration: float | None = None
    resolution: str = ""
    aspect_ratio: str = "16:9"


@dataclass(frozen=True)
class Photo:
    """A property photo of the request: its URL is fetched into an asset of the campaign."""

    id: str
    url: str
    filename: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AudioScene:
    scene_number: int
    prompt: str
    duration: float | None = None


@dataclass(frozen=True)
class JobParameters:
    render: RenderWish = field(default_factory=RenderWish)
    creative: CreativeOptions = field(default_factory=CreativeOptions)
    auto_approve: bool = False
    generate_audio: bool = False
    # What the request said about a preview; None when it said nothing.
    preview: bool | None = None
    keep_preview: bool = False
    # Image pairs.
    num_pairs: int = DEFAULT_PAIRS
    allow_reuse: bool = False
    # Property videos.
    property_info: Mapping[str, str] = field(default_factory=dict)
    photos: tuple[Photo, ...] = ()
    # Standard jobs: the brief as sent.
    brief: Mapping[str, Any] | None = None
    # Audio jobs.
    audio_scenes: tuple[AudioScene, ...] = ()
    default_duration: float = DEFAULT_AUDIO_SECONDS
    music_model: str = DEFAULT_MUSIC_MODEL

    # False for a row stored before the creative options existed (its frame then follows
    # its scenes, see VideoPipeline.frame).
    options_given: bool = True

    def with_preview(self, preview: bool) -> JobParameters:
        return replace(self, preview=preview)

    def writer_brief(self) -> dict[str, Any]:
        """What the storyboard writer is told of the job: the brief, or what a property
        video says of its property."""
        if self.brief is not None:
            return dict(self.brief)
        return {"propertyInfo": dict(self.property_info)} if self.property_info else {}

    # --- documents ---------------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "render": {"model": self.render.model, "clip_duration": self.render.clip_duration,
                       "resolution": self.render.resolution,
                       "aspect_ratio": self.render.aspect_ratio},
            PARAMETERS_KEY: self.creative.to_document(),
            "options_given": self.options_given,
            "auto_approve": self.auto_approve,
            "generate_audio": self.generate_audio,
            "preview": self.preview,
            "keep_preview": self.keep_preview,
            "num_pairs": self.num_pairs,
            "allow_reuse": self.allow_reuse,
            "property_info": dict(self.property_info),
            "photos": [{"id": p.id, "url": p.url, "filename": p.filename, "tags": list(p.tags)}
                       for p in self.photos],
            "brief": dict(self.brief) if self.brief is not None else None,
            "audio_scenes": [{"scene_number": s.scene_number, "prompt": s.prompt,
                              "duration": s.duration} for s in self.audio_scenes],
            "default_duration": self.default_duration,
            "music_model": self.music_model,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None, *, kind: str
                      ) -> JobParameters:
        """Read a version-2 document, or a version-1 row (the request body of a job of
        ``kind``, camelCase)."""
        document = document or {}
        if int(document.get("version") or 1) < VERSION:
            return cls.from_request(kind, document)
        render = document.get("render") or {}
        return cls(
            render=RenderWish(model=render.get("model") or "veo3",
                              clip_duration=_number(render.get("clip_duration")),
                              resolution=render.get("resolution") or "",
                              aspect_ratio=render.get("aspect_ratio") or "16:9"),
            creative=CreativeOptions.from_document(document.get(PARAMETERS_KEY)),
            auto_approve=bool(document.get("auto_approve")),
            generate_audio=bool(document.get("generate_audio")),
            preview=document.get("preview"),
            keep_preview=bool(document.get("keep_preview")),
            num_pairs=int(document.get("num_pairs") or DEFAULT_PAIRS),
            allow_reuse=bool(document.get("allow_reuse")),
            property_info=dict(document.get("property_info") or {}),
            photos=tuple(Photo(str(p["id"]), str(p["url"]), p.get("filename") or "",
                               tuple(p.get("tags") or ()))
                         for p in document.get("photos") or ()),
            brief=document.get("brief"),
            audio_scenes=tuple(AudioScene(int(s["scene_number"]), str(s["prompt"]),
                                          _number(s.get("duration")))
                               for s in document.get("audio_scenes") or ()),
            default_duration=float(document.get("default_duration") or DEFAULT_AUDIO_SECONDS),
            music_model=document.get("music_model") or DEFAULT_MUSIC_MODEL,
            options_given=bool(document.get("options_given", True)),
        )

    @classmethod
    def from_request(cls, kind: str, body: Mapping[str, Any],
                     creative: CreativeOptions | None = None) -> JobParameters:
        """A request body of a job of ``kind`` (checked by the API's schema, or stored so
        before version 2), camelCase, read once. ``creative``: the options the API parsed
        from it; a stored row has them as a document in ``creative_options`` (or, from
        before them, only its ratio: ``job_options``)."""
        advanced = body.get("advanced") or {}
        if not isinstance(advanced, Mapping):
            advanced = {}
        preview = next((v for v in (body.get("preview"), advanced.get("preview"))
                        if isinstance(v, bool)), None)
        photos = body.get("photos") if kind == "property_video" else None
        scenes = body.get("scenes") if kind == "audio" else None
        return cls(
            render=RenderWish(model=body.get("videoModel") or "veo3",
                              clip_duration=_number(body.get("clipDuration")),
                              resolution=body.get("resolution") or "",
                              aspect_ratio=body.get("aspectRatio") or "16:9"),
            creative=creative or job_options(body),
            auto_approve=bool(body.get("autoApprove") or advanced.get("autoApprove")),
            generate_audio=bool(body.get("generateAudio")),
            preview=preview,
            keep_preview=bool(body.get("keepPreview") or advanced.get("keepPreview")),
            num_pairs=int(body.get("numPairs") or DEFAULT_PAIRS),
            allow_reuse=bool(body.get("allowReuse")),
            property_info={str(k): str(v) for k, v in (body.get("propertyInfo") or {}).items()},
            photos=tuple(Photo(str(p["id"]), str(p["url"]), p.get("filename") or "",
                               tuple(p.get("tags") or ()))
                         for p in photos or () if isinstance(p, Mapping)),
            brief=({k: v for k, v in body.items() if k != PARAMETERS_KEY}
                   if kind == "standard" else None),
            audio_scenes=tuple(AudioScene(int(s["scene_number"]), str(s["prompt"]),
                                          _number(s.get("duration")))
                               for s in scenes or () if isinstance(s, Mapping)),
            default_duration=float(body.get("default_duration") or DEFAULT_AUDIO_SECONDS),
            music_model=body.get("model_id") or DEFAULT_MUSIC_MODEL,
            options_given=creative is not None or bool(body.get(PARAMETERS_KEY)),
        )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None
