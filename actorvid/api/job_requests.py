"""What a job request may say, and the creative options parsed from it (``/api/v3/jobs``).

The request schemas the job resources validate with (and the OpenAPI description shows, from
the same objects), and the parsing of a request's frame and creative options into
:class:`~actorvid.domain.creative.CreativeOptions`, once, at the edge.
"""

from __future__ import annotations

from typing import Any

from actorvid.api.validation import Field, Schema
from actorvid.domain import creative
from actorvid.domain.creative import Card, CreativeOptions, Transition
from actorvid.domain.parameters import JobParameters
from actorvid.errors import ValidationFailed
from actorvid.media.cards import undrawable

VIDEO_MODELS = ("veo3", "hailuo")
# Issue 19: a free local preview of the storyboard (default: yes, unless autoApprove).
PREVIEW_FIELDS = (
    Field("preview", "boolean", nullable=True,
          description="Render a free local preview of the storyboard (default: true, "
                      "false with autoApprove)"),
    Field("keepPreview", "boolean", default=False,
          description="Keep the preview after the job completes"),
)
ASPECTS = creative.ASPECT_RATIOS
# The clip sizes the models take; the finished video is 720p unless 1080p is asked for.
RESOLUTIONS = ("512p", "720p", "768p", "1080p")
CREATIVE_OPTIONS_KEY = creative.PARAMETERS_KEY

CARD = Schema((
    Field("text", "string", required=True, min_length=1, max_length=120,
          description="The card's main line (wraps and shrinks to fit the frame)."),
    Field("subtitle", "string", nullable=True, max_length=200, default=""),
    Field("seconds", "number", nullable=True, minimum=creative.CARD_SECONDS[0],
          maximum=creative.CARD_SECONDS[1], default=creative.DEFAULT_CARD_SECONDS),
    Field("background", "string", nullable=True, enum=creative.CARD_BACKGROUNDS,
          default="still", description="still: a softened still of the neighbouring scene; "
                                       "brand: the client's brand colour."),
), name="Card")

# The creative options every job request takes besides its frame shape (aspectRatio and
# resolution, which each request type already names in its own way).
CREATIVE_FIELDS = (
    Field("fit", "string", nullable=True, enum=creative.FITS, default="crop",
          description="How a clip of another shape fills the frame: crop at the centre, or "
                      "pad with black bars."),
    Field("transition", "string", nullable=True, enum=creative.TRANSITIONS, default="cut"),
    Field("transitionSeconds", "number", nullable=True, minimum=creative.TRANSITION_SECONDS[0],
          maximum=creative.TRANSITION_SECONDS[1], default=creative.DEFAULT_TRANSITION_SECONDS,
          description="Overlap of two shots for crossfade and fadeblack (the video gets this "
                      "much shorter per join)."),
    Field("titleCard", "object", nullable=True, schema=CARD,
          description="A card before the first scene."),
    Field("endCard", "object", nullable=True, schema=CARD,
          description="A card after the last scene."),
    Field("musicVolume", "number", nullable=True, minimum=0.0, maximum=1.0,
          default=creative.DEFAULT_MUSIC_VOLUME,
          description="Soundtrack level under any clip audio (the mix keeps its loudness)."),
)

_RENDER_FIELDS = (
    Field("clipDuration", "number", nullable=True, minimum=1, maximum=30),
    Field("videoModel", "string", nullable=True, enum=VIDEO_MODELS, default="veo3"),
    Field("aspectRatio", "string", nullable=True, enum=ASPECTS, default="16:9"),
    Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
    Field("autoApprove", "boolean", default=False),
    Field("generateAudio", "boolean", default=False),
    *CREATIVE_FIELDS,
    *PREVIEW_FIELDS,
)

IMAGE_PAIRS = Schema((
    Field("campaignId", "string", required=True, min_length=1, max_length=64),
    Field("clientId", "string", nullable=True, max_length=64),
    Field("numPairs", "integer", nullable=True, minimum=1, maximum=30, default=7),
    # Without it a photo appears in one pair at most, and a small campaign makes fewer scenes.
    Field("allowReuse", "boolean", default=False),
    *_RENDER_FIELDS,
), name="ImagePairsJobRequest")

_STRING_LIST = Field("items", "array", nullable=True, items=Field("item", "string",
                                                                  max_length=200),
                     max_items=50)

PROPERTY_INFO = Schema(tuple(Field(name, "string", required=True, min_length=1, max_length=500)
                             for name in ("name", "location", "propertyType", "positioning")),
                       name="PropertyInfo")

PHOTO = Schema((
    Field("id", "string", required=True, min_length=1, max_length=200),
    Field("url", "string", required=True, min_length=1, max_length=4096),
    Field("filename", "string", nullable=True, max_length=500),
    Field("tags", "array", nullable=True, items=_STRING_LIST.items, max_items=50),
    Field("dominantColors", "array", nullable=True, items=_STRING_LIST.items, max_items=50),
    Field("detectedObjects", "array", nullable=True, items=_STRING_LIST.items, max_items=50),
    Field("composition", "string", nullable=True, max_length=500),
    Field("lighting", "string", nullable=True, max_length=500),
    Field("resolution", "string", nullable=True, max_length=50),
    Field("aspectRatio", "string", nullable=True, max_length=50),
), name="PropertyPhoto")

PROPERTY = Schema((
    Field("propertyInfo", "object", required=True, schema=PROPERTY_INFO),
    Field("photos", "array", required=True, min_items=14, max_items=100,
          items=Field("photo", "object", schema=PHOTO)),
    Field("campaignId", "string", required=True, min_length=1, max_length=64),
    *(f if f.name != "clipDuration" else Field("clipDuration", "number", nullable=True,
                                                minimum=1, maximum=30, default=6.0)
      for f in _RENDER_FIELDS),
), name="PropertyVideoRequest")

STANDARD = Schema((
    Field("context", "object", required=True, schema=Schema((
        Field("clientId", "string", required=True, min_length=1, max_length=64),
        Field("campaignId", "string", nullable=True, max_length=64),
        Field("userId", "string", nullable=True),
    ))),
    Field("adBasics", "object", required=True, schema=Schema(tuple(
        Field(name, "string", required=True, max_length=2000)
        for name in ("product", "targetAudience", "keyMessage", "callToAction")))),
    Field("creative", "object", required=True, schema=Schema((
        Field("videoSpecs", "object", required=True, schema=Schema((
            Field("duration", "number", required=True, minimum=4, maximum=120),
            # No default: absent, the top-level aspectRatio (or 16:9) decides.
            Field("format", "string", nullable=True, enum=ASPECTS),
            Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
        ))),
        Field("direction", "object", required=True, schema=Schema((
            Field("style", "string", required=True, max_length=500),
            Field("tone", "string", nullable=True, max_length=500),
            Field("visualElements", "array", nullable=True, items=_STRING_LIST.items,
                  max_items=50),
            Field("musicStyle", "string", nullable=True, max_length=500),
        ))),
        Field("assets", "array", nullable=True, max_items=20, items=Field(
            "asset", "object", schema=Schema((
                Field("url", "string", nullable=True, max_length=4096),
                Field("assetId", "string", nullable=True, max_length=64),
                Field("type", "string", nullable=True, max_length=20),
                Field("name", "string", nullable=True, max_length=255),
                Field("role", "string", nullable=True, max_length=100),
            )))),
        Field("storyboard", "object", nullable=True),
    ))),
    Field("advanced", "object", nullable=True, schema=Schema((
        Field("duration", "integer", nullable=True),
        Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
        Field("modelPreferences", "array", nullable=True, items=_STRING_LIST.items),
        Field("videoModel", "string", nullable=True, enum=VIDEO_MODELS),
        Field("autoApprove", "boolean", default=False),
    ))),
    Field("generateAudio", "boolean", default=False),
    # The brief's creative.videoSpecs.format names the ratio too; both given must agree.
    Field("aspectRatio", "string", nullable=True, enum=ASPECTS),
    *CREATIVE_FIELDS,
    *PREVIEW_FIELDS,
), name="StandardJobRequest")

DRY_RUN = Schema((
    Field("numPairs", "integer", nullable=True, minimum=1, maximum=30),
    Field("clipDuration", "number", nullable=True, minimum=1, maximum=30),
    Field("videoModel", "string", nullable=True, enum=VIDEO_MODELS),
    Field("resolution", "string", nullable=True, enum=RESOLUTIONS),
    Field("generateAudio", "boolean", default=False),
    Field("aspectRatio", "string", nullable=True, enum=ASPECTS),
    *CREATIVE_FIELDS,
    Field("creative", "object", nullable=True),
    Field("context", "object", nullable=True),
    Field("adBasics", "object", nullable=True),
    Field("advanced", "object", nullable=True),
    Field("preview", "boolean", default=False,
          description="Also render a draft preview (kept one hour, never a job)"),
    Field("assetIds", "array", nullable=True, max_items=60,
          items=Field("assetId", "string", max_length=64),
          description="Images for the draft preview, two per scene in order"),
), name="DryRunRequest")

ACTION = Schema((
    Field("action", "string", required=True, enum=("approve", "cancel", "regenerate_scene")),
    Field("payload", "object", nullable=True),
), name="JobActionRequest")

SCENE_UPDATE = Schema((
    Field("description", "string", nullable=True, max_length=5000),
    Field("prompt", "string", nullable=True, max_length=5000),
    Field("script", "string", nullable=True, max_length=5000),
    Field("shotType", "string", nullable=True, max_length=100),
    Field("transition", "string", nullable=True, max_length=100),
    Field("duration", "number", nullable=True, minimum=1, maximum=30),
    Field("firstAssetId", "string", nullable=True, max_length=64),
    Field("lastAssetId", "string", nullable=True, max_length=64),
    Field("metadata", "object", nullable=True),
), name="SceneUpdate")

REGENERATE = Schema((
    Field("feedback", "string", nullable=True, max_length=2000, default=""),
    Field("constraints", "object", nullable=True),
), name="SceneRegenerateRequest")


# --- creative options ----------------------------------------------------------------------


def frame_resolution(resolution: str | None) -> str:
    """The finished video's resolution: 1080p when asked for, else 720p (the clip sizes
    512p/768p of Hailuo-02 are scaled to the 720p frame)."""
    return "1080p" if resolution == "1080p" else "720p"


def _card(document: dict[str, Any] | None, loc: list[str | int],
          details: list[dict[str, Any]]) -> Card | None:
    if not document:
        return None
    for key in ("text", "subtitle"):
        missing = undrawable(document.get(key) or "")
        if missing:
            shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in missing[:5])
            details.append({"loc": [*loc, key], "type": "unsupported_characters",
                             "msg": f"{key} has characters the card font cannot draw: {shown}"})
    return Card(text=" ".join(document["text"].split()),
                subtitle=" ".join((document.get("subtitle") or "").split()),
                seconds=float(document.get("seconds") or creative.DEFAULT_CARD_SECONDS),
                background=document.get("background") or "still")


def creative_options(body: dict[str, Any], *, aspect_ratio: str | None,
                     resolution: str | None) -> CreativeOptions:
    """The request's creative options, parsed once here (the schema checked each field);
    a 422 for card text the font cannot draw, rather than boxes in the video."""
    details: list[dict[str, Any]] = []
    title = _card(body.get("titleCard"), ["body", "titleCard"], details)
    end = _card(body.get("endCard"), ["body", "endCard"], details)
    if details:
        raise ValidationFailed(details[0]["msg"], details)
    volume = body.get("musicVolume")
    return CreativeOptions(
        aspect_ratio=aspect_ratio if aspect_ratio in creative.ASPECT_RATIOS  # type: ignore[arg-type]
        else "16:9",
        resolution=frame_resolution(resolution),  # type: ignore[arg-type]
        fit=body.get("fit") or "crop",
        transition=Transition(body.get("transition") or "cut",
                              float(body.get("transitionSeconds")
                                    or creative.DEFAULT_TRANSITION_SECONDS)),
        title_card=title, end_card=end,
        music_volume=float(volume) if volume is not None else creative.DEFAULT_MUSIC_VOLUME)


def job_parameters(kind: str, body: dict[str, Any], options: CreativeOptions
                   ) -> JobParameters:
    """The checked request of a job of ``kind``, with its parsed creative options, as the
    value the job stores (``domain/parameters.py``)."""
    return JobParameters.from_request(kind, body, options)


def standard_frame(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(aspect ratio, resolution) of a brief: top-level fields or ``creative.videoSpecs``."""
    specs = ((body.get("creative") or {}).get("videoSpecs") or {})
    aspect, spec_format = body.get("aspectRatio"), specs.get("format")
    if aspect and spec_format and aspect != spec_format:
        raise ValidationFailed.field(["body", "aspectRatio"],
                                     f"aspectRatio {aspect} and creative.videoSpecs.format "
                                     f"{spec_format} differ; send one of them", "conflict")
    resolution = (body.get("resolution") or specs.get("resolution")
                  or (body.get("advanced") or {}).get("resolution"))
    return aspect or spec_format, resolution


