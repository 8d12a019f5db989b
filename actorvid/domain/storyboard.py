"""A job's storyboard as a value: the scenes that will render, their prices and the totals.

Built by ``workflows/storyboard.py`` (and the audio pipeline), edited by
``workflows/editing.py``, read by the pipelines and the preview, and rendered in camelCase by
the API alone (``api/job_views.py``). It is stored in ``jobs.storyboard`` as a versioned
document (:meth:`Storyboard.to_document`, snake_case, ``"version": 2``).

:meth:`Storyboard.from_document` also reads version 1, the camelCase dict every row written
before this module holds (no ``version`` key): rows are not migrated, the reader handles both,
so an old row and a database copied back from before the change both keep working.

Optional fields are None when a storyboard does not have them (an audio job's scenes have no
model or images, a standard job's storyboard no selection); None is left out of both the
document and the API's view, so a storyboard renders with exactly the keys it was built with.
Keys this module does not know (a legacy import's ``source``) are kept in ``extra`` and
rendered as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

VERSION = 2


def snake(name: str) -> str:
    """``firstAssetId`` → ``first_asset_id``: a version-1 key as the version-2 field."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Adjustment:
    """A value of the request the model could not take as is: what was asked, what is used,
    and why. ``field`` names the request field (``clipDuration``, ``resolution``, ...)."""

    field: str
    requested: Any
    used: Any
    note: str

    def to_document(self) -> dict[str, Any]:
        return {"field": self.field, "requested": self.requested, "used": self.used,
                "note": self.note}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Adjustment:
        return cls(str(document.get("field") or ""), document.get("requested"),
                   document.get("used"), str(document.get("note") or ""))


@dataclass(frozen=True)
class Selection:
    """Who chose the photo pairs, what was repaired, what it cost; for property videos which
    request photo became which asset."""

    provider: str | None = None
    notes: tuple[str, ...] | None = None
    cost: float | None = None
    allow_reuse: bool | None = None
    photo_assets: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Scene:
    """One scene. A video scene (one with a ``model``) always has both image ids, possibly
    None (it renders from its prompt alone); an audio job's scene has a number, a prompt and
    a duration only."""

    scene_number: int
    duration: float
    prompt: str | None = None
    id: str | None = None
    scene_type: str | None = None
    description: str | None = None
    first_asset_id: str | None = None
    last_asset_id: str | None = None
    assets: tuple[str, ...] | None = None
    base_prompt: str | None = None
    music_prompt: str | None = None
    model: str | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    provider: str | None = None
    estimated_cost: float | None = None
    adjustments: tuple[Adjustment, ...] | None = None
    reasoning: str | None = None
    score: float | None = None
    script: str | None = None
    shot_type: str | None = None
    transition: str | None = None
    metadata: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_video(self) -> bool:
        return self.model is not None

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                continue
            if value is None and not (self.is_video and f.name in _IMAGE_FIELDS):
                continue
            if f.name == "adjustments":
                value = [a.to_document() for a in value]
            elif f.name == "assets":
                value = list(value)
            elif f.name == "metadata":
                value = dict(value)
            document[f.name] = value
        if self.extra:
            document["extra"] = dict(self.extra)
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any], *, version: int = VERSION) -> Scene:
        values, extra = _known(cls, document, version)
        values["scene_number"] = int(values.get("scene_number") or 0)
        values["duration"] = float(values.get("duration") or 0.0)
        if values.get("assets") is not None:
            values["assets"] = tuple(values["assets"])
        if values.get("adjustments") is not None:
            values["adjustments"] = _adjustments(values["adjustments"])
        return cls(**values, extra=extra)


@dataclass(frozen=True)
class Storyboard:
    """The scenes in order, their total length and price, and how they came about."""

    scenes: tuple[Scene, ...]
    total_duration: float
    estimated_cost: float | None = None
    currency: str | None = None
    selection: Selection | None = None
    writer: str | None = None
    provider: str | None = None
    adjustments: tuple[Adjustment, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def scene(self, scene_id: str) -> Scene | None:
        return next((s for s in self.scenes if s.id == scene_id), None)

    def by_number(self) -> dict[int, Scene]:
        return {s.scene_number: s for s in self.scenes}

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"version": VERSION,
                                    "scenes": [s.to_document() for s in self.scenes],
                                    "total_duration": self.total_duration}
        for name in ("estimated_cost", "currency", "writer", "provider"):
            if getattr(self, name) is not None:
                document[name] = getattr(self, name)
        if self.selection is not None:
            document["selection"] = _selection_document(self.selection)
        if self.adjustments is not None:
            document["adjustments"] = [a.to_document() for a in self.adjustments]
        if self.extra:
            document["extra"] = dict(self.extra)
        return document

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> Storyboard | None:
        """Read a version-2 document, or a version-1 camelCase dict; None for no storyboard."""
        if not document:
            return None
        version = int(document.get("version") or 1)
        values, extra = _known(cls, document, version)
        values["scenes"] = tuple(Scene.from_document(s, version=version)
                                 for s in values.get("scenes") or () if isinstance(s, Mapping))
        values["total_duration"] = float(values.get("total_duration") or 0.0)
        if values.get("selection") is not None:
            selection, _ = _known(Selection, values["selection"], version)
            if selection.get("notes") is not None:
                selection["notes"] = tuple(selection["notes"])
            values["selection"] = Selection(**selection)
        if values.get("adjustments") is not None:
            values["adjustments"] = _adjustments(values["adjustments"])
        return cls(**values, extra=extra)

    def with_scenes(self, scenes: Iterable[Scene]) -> Storyboard:
        return replace(self, scenes=tuple(scenes))


_IMAGE_FIELDS = ("first_asset_id", "last_asset_id")


def _selection_document(selection: Selection) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for f in fields(selection):
        value = getattr(selection, f.name)
        if value is None:
            continue
        document[f.name] = (list(value) if f.name == "notes" else
                            dict(value) if f.name == "photo_assets" else value)
    return document


def _adjustments(items: Iterable[Any]) -> tuple[Adjustment, ...]:
    return tuple(Adjustment.from_document(a) for a in items if isinstance(a, Mapping))


def _known(cls: type, document: Mapping[str, Any], version: int
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document's values of ``cls``'s fields (version 1 names them in camelCase), and
    the rest, kept as they were."""
    names = {f.name for f in fields(cls)} - {"extra"}
    values: dict[str, Any] = {}
    extra: dict[str, Any] = dict(document.get("extra") or {}) if version >= 2 else {}
    for key, value in document.items():
        if key in ("version", "extra") and version >= 2:
            continue
        name = key if version >= 2 else snake(key)
        if name in names:
            if value is not None:
                values[name] = value
        else:
            extra[key] = value
    return values, extra
