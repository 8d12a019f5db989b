"""The response components of the OpenAPI description (``components.schemas``).

Serializer-backed components (Client, Job, Scene, ...) take their property names from the
serializers themselves (:func:`serializer_keys` runs each on a placeholder row) and their
types from :data:`PROPERTY_TYPES`; a key the serializer emits that is not typed here is shown
as "any value", and ``tests/contract`` fails on it. Components whose keys a responder builds
inline (the envelope's meta, errors, previews, galleries, ...) are written out in
:func:`hand_components`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actorvid.api import asset_views, auth, campaigns, clients, job_requests, job_views
from actorvid.api.operations import (
    ADJUSTMENTS,
    BOOL,
    INT,
    NUM,
    NUM_OR_NULL,
    OBJ,
    OBJ_OR_NULL,
    STR,
    STR_OR_NULL,
    STRINGS,
    list_of,
    nullable,
    ref,
)
from actorvid.domain import creative
from actorvid.domain.storyboard import Scene
from actorvid.media.magic import ASSET_TYPES
from actorvid.store.assets import Asset
from actorvid.store.campaigns import STATUSES as CAMPAIGN_STATUSES
from actorvid.store.campaigns import Campaign
from actorvid.store.clients import Client
from actorvid.store.job_views import JobCounts
from actorvid.store.jobs import JOB_STATUSES, JOB_TYPES, SUB_JOB_STATUSES, Job, SubJob
from actorvid.store.previews import STATUSES as PREVIEW_STATUSES
from actorvid.store.users import ApiKey


def _placeholder(annotation: str) -> Any:
    # Serializer keys do not depend on values, so any value of the right kind will do.
    if "None" in annotation:
        return None
    for prefix, value in (("int", 0), ("float", 0.0), ("str", ""), ("bool", False),
                          ("dict", {}), ("tuple", ()), ("list", [])):
        if annotation.startswith(prefix):
            return value
    return None


def sample(cls: type, **overrides: Any) -> Any:
    """An instance of a store dataclass with placeholder values, to run a serializer on."""
    values = {f.name: _placeholder(str(f.type)) for f in dataclasses.fields(cls)
              if f.default is dataclasses.MISSING}
    return cls(**{**values, **overrides})


def serializer_keys() -> dict[str, list[str]]:
    """Every component's property names, as the serializers emit them (in their order)."""
    job = sample(Job, parameters={}, progress={})
    asset_keys: list[str] = []
    for asset_type in ASSET_TYPES:
        for key in asset_views.asset_json(sample(Asset, asset_type=asset_type, format="x")):
            if key not in asset_keys:
                asset_keys.append(key)
    return {
        "Client": list(clients.client_json(sample(Client))),
        "Campaign": list(campaigns.campaign_json(sample(Campaign))),
        "Asset": asset_keys,
        # The one job's view adds its preview (issue 19); lists leave it out.
        "Job": [*job_views.job_view(job, JobCounts(), []), "preview"],
        "Progress": list(job_views.progress_view(job, JobCounts())),
        "Scene": list(job_views.scene_view(job, Scene(1, 1.0), None)),
        "SubJob": list(job_views.sub_job_view(sample(SubJob, input={}))),
        "ApiKey": list(auth.api_key_json(sample(ApiKey))),
    }


# Property types of the serializer-backed components. Names come from serializer_keys(); a
# key missing here is rendered as "any value" and the contract tests fail on it.
PROPERTY_TYPES: dict[str, dict[str, dict[str, Any]]] = {
    "Client": {
        "id": STR, "name": STR, "description": STR, "homepage": STR_OR_NULL,
        "brandGuidelines": OBJ_OR_NULL, "metadata": OBJ_OR_NULL, "createdAt": STR,
        "updatedAt": STR,
    },
    "Campaign": {
        "id": STR, "clientId": STR, "name": STR, "goal": STR,
        "status": {"type": "string", "enum": list(CAMPAIGN_STATUSES)},
        "productUrl": STR_OR_NULL, "brief": OBJ_OR_NULL, "metadata": OBJ_OR_NULL,
        "createdAt": STR, "updatedAt": STR,
    },
    "Asset": {
        "id": STR, "userId": STR, "clientId": STR_OR_NULL, "campaignId": STR_OR_NULL,
        "name": STR, "url": STR, "size": INT, "uploadedAt": STR, "tags": STRINGS,
        "thumbnailBlobId": STR_OR_NULL, "sourceUrl": STR_OR_NULL,
        "type": {"type": "string", "enum": list(ASSET_TYPES)}, "format": STR,
        "contentType": STR,
        # Type-specific: image/video width and height, video/audio duration (int seconds, as
        # the old contract had it) next to the exact durationSeconds.
        "width": INT, "height": INT, "thumbnailUrl": STR_OR_NULL, "duration": INT,
        "durationSeconds": NUM_OR_NULL, "waveformUrl": STR_OR_NULL,
        "pageCount": nullable("integer"),
    },
    "Job": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "integer id, as text"},
        "type": {"type": "string", "enum": list(JOB_TYPES)},
        "status": {"type": "string", "enum": list(JOB_STATUSES)},
        "progress": ref("Progress"), "storyboard": OBJ_OR_NULL,
        "scenes": list_of("Scene"), "videoUrl": STR_OR_NULL, "thumbnailUrl": STR_OR_NULL,
        "duration": NUM_OR_NULL, "clipCount": nullable("integer"), "partial": BOOL,
        "failedScenes": {"type": "array"}, "error": STR_OR_NULL, "estimatedCost": NUM,
        "actualCost": NUM, "audio": ref("AudioInfo"),
        "creativeOptions": ref("CreativeOptions"), "provider": STR_OR_NULL,
        "campaignId": STR_OR_NULL, "clientId": STR_OR_NULL, "approvedAt": STR_OR_NULL,
        "createdAt": STR, "updatedAt": STR, "completedAt": STR_OR_NULL,
        "preview": ref("Preview"),
    },
    "Progress": {
        "stage": STR, "percent": INT, "message": STR, "scenesTotal": INT,
        "scenesCompleted": INT, "scenesFailed": INT, "currentStep": INT, "totalSteps": INT,
    },
    "Scene": {
        "id": STR_OR_NULL, "jobId": INT, "sceneNumber": INT, "duration": NUM,
        "description": STR_OR_NULL, "script": STR_OR_NULL, "shotType": STR_OR_NULL,
        "transition": STR_OR_NULL, "assets": STRINGS, "metadata": OBJ_OR_NULL,
        "sceneType": STR_OR_NULL, "prompt": STR_OR_NULL, "firstAssetId": STR_OR_NULL,
        "lastAssetId": STR_OR_NULL, "model": STR_OR_NULL, "provider": STR_OR_NULL,
        "estimatedCost": NUM_OR_NULL, "adjustments": ADJUSTMENTS,
        "status": {"type": "string", "enum": ["planned", *SUB_JOB_STATUSES]},
        "clipUrl": STR_OR_NULL, "error": STR_OR_NULL, "createdAt": STR, "updatedAt": STR,
    },
    "SubJob": {
        "id": STR, "jobId": INT, "subJobNumber": INT, "image1AssetId": STR_OR_NULL,
        "image2AssetId": STR_OR_NULL, "replicatePredictionId": STR_OR_NULL,
        "provider": STR_OR_NULL, "modelId": STR, "inputParameters": OBJ,
        "status": {"type": "string", "enum": list(SUB_JOB_STATUSES)}, "progress": NUM,
        "videoUrl": STR_OR_NULL, "durationSeconds": NUM_OR_NULL,
        "estimatedCost": NUM_OR_NULL, "actualCost": NUM, "errorMessage": STR_OR_NULL,
        "retryCount": INT, "startedAt": STR_OR_NULL, "completedAt": STR_OR_NULL,
        "createdAt": STR, "updatedAt": STR,
    },
    "ApiKey": {
        "id": INT, "name": STR, "prefix": STR_OR_NULL, "is_active": BOOL, "created_at": STR,
        "last_used": STR_OR_NULL, "expires_at": STR_OR_NULL,
    },
}

# Keys every object of the component carries (the Asset's type-specific keys are optional).
_ASSET_COMMON = ("id", "userId", "clientId", "campaignId", "name", "url", "size", "uploadedAt",
                 "tags", "thumbnailBlobId", "sourceUrl", "type", "format", "contentType")


# Keys some answers of a component leave out: a job list has no previews.
_OPTIONAL_KEYS = frozenset({("Job", "preview")})


def serializer_components() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, keys in serializer_keys().items():
        types = PROPERTY_TYPES.get(name, {})
        out[name] = {
            "type": "object",
            "required": [k for k in keys if (name != "Asset" or k in _ASSET_COMMON)
                         and (name, k) not in _OPTIONAL_KEYS],
            "properties": {k: types.get(k, {}) for k in keys},
        }
    return out


def hand_components() -> dict[str, dict[str, Any]]:
    """Components whose keys are built inline in a responder, written out here."""
    ai_video = {
        "id": STR, "jobId": INT, "subJobNumber": INT, "modelId": STR, "videoUrl": STR,
        "thumbnailUrl": STR, "status": STR, "durationSeconds": NUM, "progress": NUM,
        "errorMessage": STR, "createdAt": STR, "completedAt": STR, "prompt": STR,
        "assetIds": STRINGS,
    }
    generated = {
        "jobId": INT, "id": STR, "type": STR, "status": STR, "campaignId": STR_OR_NULL,
        "clientId": STR_OR_NULL, "videoUrl": STR, "thumbnailUrl": STR_OR_NULL,
        "duration": NUM_OR_NULL, "estimatedCost": NUM, "actualCost": NUM, "createdAt": STR,
        "completedAt": STR_OR_NULL,
    }
    audio_status = {
        "jobId": INT, "audio_id": INT, "status": {"type": "string", "enum": list(JOB_STATUSES)},
        "progress": ref("Progress"), "audio": OBJ_OR_NULL, "total_duration": NUM_OR_NULL,
        "scenes_processed": INT, "audio_url": STR, "model_used": STR, "error": STR_OR_NULL,
        "createdAt": STR, "updatedAt": STR,
    }
    return {
        "Meta": {"type": "object", "required": ["timestamp", "requestId"],
                 "properties": {"timestamp": STR, "requestId": STR}},
        "PageMeta": {"type": "object",
                     "required": ["timestamp", "requestId", "total", "page", "limit", "offset"],
                     "properties": {"timestamp": STR, "requestId": STR, "total": INT,
                                    "page": INT, "limit": INT, "offset": INT}},
        "Error": {
            "description": "Every error, whatever its status: data null, a sentence in "
                           "error, a machine code in meta (validation errors list every bad "
                           "field in meta.details).",
            "type": "object", "required": ["data", "error", "meta"],
            "properties": {
                "data": {"type": "null"}, "error": STR,
                "meta": {"type": "object", "required": ["timestamp", "requestId", "code"],
                         "properties": {
                             "timestamp": STR, "requestId": STR, "code": STR,
                             "details": {"type": "array", "items": {
                                 "type": "object", "required": ["loc", "msg", "type"],
                                 "properties": {"loc": {"type": "array"}, "msg": STR,
                                                "type": STR}}}}}}},
        "Preview": {
            "description": "A job's free local preview (issue 19). status: none (not asked "
                           "for, or removed when the job completed), rendering, ready, failed, "
                           "cancelled, or stale (it shows an earlier storyboard; a new one "
                           "follows). url only when ready for the current storyboard.",
            "type": "object", "required": ["status", "url", "renderedFor"],
            "properties": {
                "status": {"type": "string", "enum": ["none", *PREVIEW_STATUSES, "stale"]},
                "url": STR_OR_NULL,
                "renderedFor": {**STR_OR_NULL, "description": "the storyboard version shown"},
                "duration": NUM_OR_NULL, "error": STR_OR_NULL}},
        "DraftPreview": {
            "description": "A dry-run's draft preview: polled here, kept one hour, never a job.",
            "type": "object", "required": ["id", "status", "url", "renderedFor", "expiresAt"],
            "properties": {
                "id": STR, "status": {"type": "string", "enum": list(PREVIEW_STATUSES)},
                "url": STR_OR_NULL, "renderedFor": STR, "duration": NUM_OR_NULL,
                "error": STR_OR_NULL, "expiresAt": STR, "createdAt": STR}},
        "AudioInfo": {"type": "object", "required": ["status"],
                      "properties": {"status": STR, "requested": BOOL}},
        "CreativeOptions": creative_options(),
        "AiVideo": {"type": "object", "required": list(ai_video), "properties": ai_video},
        "GeneratedVideo": {"type": "object", "required": list(generated),
                           "properties": generated},
        "AudioStatus": {"type": "object", "required": ["jobId", "status", "audio_url"],
                        "properties": audio_status},
        "ActorNode": {
            "description": "One actor of the live tree. snake_case keys on purpose: the "
                           "actor system's own field names, for operators (not part of the "
                           "old contract). Labels such as job_id, scene_id and scene_number "
                           "appear on the actors they belong to.",
            "type": "object",
            "required": ["kind", "urn", "state", "mailbox", "responding", "children"],
            "properties": {
                "kind": STR, "urn": STR, "child_id": STR_OR_NULL, "job_id": INT,
                "scene_id": STR, "scene_number": INT, "state": OBJ_OR_NULL, "mailbox": INT,
                "started_at": STR_OR_NULL, "restarts": INT, "last_message": STR_OR_NULL,
                "last_message_at": STR_OR_NULL, "responding": BOOL, "alive": BOOL,
                "children": {"type": "array", "items": ref("ActorNode")}}},
        "Health": {"type": "object", "required": ["status", "database", "actors"],
                   "properties": {"status": {"type": "string",
                                             "enum": ["healthy", "unhealthy"]},
                                  "database": STR, "actors": STR}},
    }


def creative_options() -> dict[str, Any]:
    """The creative options as a job and a dry-run show them (what the request asked, with
    the defaults filled in, and the frame they make)."""
    fields = {f.name: f.json_schema() for f in job_requests.CREATIVE_FIELDS}
    for name in ("titleCard", "endCard"):
        fields[name] = {**job_requests.CARD.json_schema(), "type": ["object", "null"]}
    properties = {
        "aspectRatio": {"type": "string", "enum": list(creative.ASPECT_RATIOS)},
        "resolution": {"type": "string", "enum": list(creative.RESOLUTIONS),
                       "description": "of the finished video (clips of other sizes are "
                                      "scaled to it)"},
        **fields,
        "frameSize": {"type": "object", "required": ["width", "height"],
                      "properties": {"width": INT, "height": INT}},
    }
    return {"type": "object", "required": list(properties), "properties": properties}


def schemas() -> dict[str, dict[str, Any]]:
    """Every response component of the description (``components.schemas``)."""
    return {**hand_components(), **serializer_components()}
