"""Finished media: ``/videos/{jobId}/...``, ``/audio/...`` and the Replicate webhook.

Binaries stream from the blob store with Range, HEAD and ETag (:func:`api.binary.send_blob`).
Video routes also take a ``?token=`` access token bound to the job (``video:<id>``), so a plain
``<video src>`` can play a private video without the API key in the URL.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from typing import Any

import falcon

from actorvid.api.binary import send_blob
from actorvid.api.campaigns import load_campaign
from actorvid.api.context import AppContext
from actorvid.api.envelope import ok
from actorvid.api.job_access import load_job, start_job
from actorvid.api.job_views import audio_url, progress_view, stored_audio
from actorvid.api.operations import (
    BINARY_AUTH,
    BOOL,
    COMMON,
    JOB_ID,
    OBJ,
    PUBLIC,
    RANGE,
    TOKEN,
    Op,
    described,
    job_errors,
    param,
    ref,
)
from actorvid.api.paths import API
from actorvid.api.validation import Field, Schema, read_json
from actorvid.domain.parameters import JobParameters
from actorvid.errors import NotFound, Unauthorized, ValidationFailed
from actorvid.store import blobs, job_views
from actorvid.store import jobs as job_store
from actorvid.webhooks import verify_webhook

logger = logging.getLogger(__name__)

_CLIP_NAME = re.compile(r"^clip_(\d{1,4})\.mp4$")


def video_resource(params: dict[str, Any]) -> str:
    return f"video:{params.get('job_id', '')}"


class VideoResource:
    """``GET|HEAD /videos/{job_id}/data`` (and ``/combined``), ``/thumbnail``, ``/clips/{clip}``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def access_token_resource(self, params: dict[str, Any]) -> str:
        return video_resource(params)

    def _job(self, req: falcon.Request, job_id: str) -> job_store.Job:
        return load_job(self.ctx, req, job_id)

    @described(Op(
        "The job's final video", ("videos",), binary="video/mp4", params=(JOB_ID, TOKEN, RANGE),
        security=BINARY_AUTH, errors=(*COMMON, 416)))
    @described(Op(
        "The job's final video (alias of /data)", ("videos",), binary="video/mp4",
        params=(JOB_ID, TOKEN, RANGE), security=BINARY_AUTH, errors=(*COMMON, 416)),
        path=f"{API}/videos/{{job_id}}/combined")
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = self._job(req, job_id)
        if not job.video_blob_id:
            raise NotFound("Combined video not found")
        # Our videos are MP4; an imported old one says what it is in its result.
        content_type = (job.result or {}).get("contentType") or "video/mp4"
        send_blob(req, resp, self.ctx.db, blobs.blob_info(self.ctx.db, job.video_blob_id),
                  content_type=content_type, filename=f"video_{job.id}.mp4")

    on_head = on_get

    @described(Op(
        "A JPEG frame of the final video", ("videos",), binary="image/jpeg",
        params=(JOB_ID, TOKEN, RANGE), security=BINARY_AUTH, errors=(*COMMON, 416)))
    def on_get_thumbnail(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = self._job(req, job_id)
        if not job.thumbnail_blob_id:
            raise NotFound("Thumbnail not available")
        send_blob(req, resp, self.ctx.db, blobs.blob_info(self.ctx.db, job.thumbnail_blob_id),
                  content_type="image/jpeg", filename=f"video_{job.id}.jpg")

    on_head_thumbnail = on_get_thumbnail

    @described(Op(
        "One rendered clip, clip_001.mp4...", ("videos",), binary="video/mp4",
        params=(JOB_ID, param("clip", {"type": "string", "pattern": r"^clip_\d{1,4}\.mp4$"},
                              "path"), TOKEN, RANGE),
        security=BINARY_AUTH, errors=(*COMMON, 416)))
    def on_get_clip(self, req: falcon.Request, resp: falcon.Response, job_id: str,
                    clip: str) -> None:
        match = _CLIP_NAME.match(clip)
        if not match:
            raise NotFound("Video clip not found")
        job = self._job(req, job_id)
        number = int(match.group(1))
        with self.ctx.db.read() as conn:
            sub = next((s for s in job_store.list_sub_jobs(conn, job.id)
                        if s.scene_number == number and s.clip_blob_id), None)
        if sub is None or sub.clip_blob_id is None:
            raise NotFound("Video clip not found")
        send_blob(req, resp, self.ctx.db, blobs.blob_info(self.ctx.db, sub.clip_blob_id),
                  content_type="video/mp4", filename=f"clip_{number:03d}.mp4")

    on_head_clip = on_get_clip


AUDIO_SCENE = Schema((
    Field("scene_number", "integer", required=True, minimum=1, maximum=100),
    Field("prompt", "string", required=True, min_length=1, max_length=2000),
    Field("duration", "number", nullable=True, minimum=1, maximum=30),
), name="AudioScene")

AUDIO_REQUEST = Schema((
    Field("scenes", "array", required=True, min_items=1, max_items=30,
          items=Field("scene", "object", schema=AUDIO_SCENE)),
    Field("default_duration", "number", nullable=True, minimum=1, maximum=30, default=4.0),
    Field("model_id", "string", nullable=True, max_length=200, default="meta/musicgen"),
    Field("campaignId", "string", nullable=True, max_length=64),
), name="SceneAudioRequest")


def _audio_status(job: job_store.Job, counts: job_views.JobCounts) -> dict[str, Any]:
    audio = stored_audio(job)
    params = job.params
    planned = job.board.total_duration if job.board else None
    if planned is None:
        planned = sum(s.duration or params.default_duration for s in params.audio_scenes)
    return {
        "jobId": job.id, "audio_id": job.id, "status": job.status,
        "progress": progress_view(job, counts),
        "audio": audio or {"status": "processing" if job.status not in (
            "failed", "cancelled") else job.status},
        "total_duration": audio.get("duration", planned),
        "scenes_processed": audio.get("segments", 0),
        "audio_url": audio_url(job.id),
        "model_used": params.music_model,
        "error": job.error or audio.get("error"),
        "createdAt": job.created_at, "updatedAt": job.updated_at,
    }


class AudioGenerate:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    @described(Op(
        "Start an audio job from scene prompts (returns at once)", ("audio",),
        ref("AudioStatus"), status=202, body=AUDIO_REQUEST, errors=job_errors()))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, AUDIO_REQUEST, max_bytes=self.ctx.settings.max_json_bytes)
        numbers = [s["scene_number"] for s in body["scenes"]]
        if len(set(numbers)) != len(numbers):
            raise ValidationFailed.field(["body", "scenes"], "scene_number must be unique",
                                         "duplicate")
        campaign_id = body.get("campaignId")
        if campaign_id:
            load_campaign(self.ctx, req, campaign_id)
        job = start_job(self.ctx, req, type_="audio",
                        parameters=JobParameters.from_request("audio", body),
                        campaign_id=campaign_id,
                      client_id=None)
        ok(resp, _audio_status(job, job_views.JobCounts()), status=falcon.HTTP_202)


class AudioItem:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def access_token_resource(self, params: dict[str, Any]) -> str:
        return f"audio:{params.get('job_id', '')}"

    def _job(self, req: falcon.Request, job_id: str) -> job_store.Job:
        job = load_job(self.ctx, req, job_id)
        return job

    @described(Op(
        "An audio job's status", ("audio",), ref("AudioStatus"), params=(JOB_ID,)))
    def on_get_status(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        job = self._job(req, job_id)
        if job.type != "audio" and not job.audio_blob_id:
            raise NotFound("Audio job not found")
        with self.ctx.db.read() as conn:
            counts = job_views.job_counts(conn, job.id)
        if job.type != "audio":
            ok(resp, {"jobId": job.id, "status": job.status,
                      "audio": (job.result or {}).get("audio"),
                      "audio_url": f"/api/v3/audio/{job.id}/download"})
            return
        ok(resp, _audio_status(job, counts))

    @described(Op(
        "The generated audio (AAC in MP4)", ("audio",), binary="audio/mp4",
        params=(JOB_ID, TOKEN, RANGE), security=BINARY_AUTH, errors=(*COMMON, 416)))
    def on_get_download(self, req: falcon.Request, resp: falcon.Response, job_id: str
                        ) -> None:
        job = self._job(req, job_id)
        if not job.audio_blob_id:
            raise NotFound("Audio not available")
        audio = (job.result or {}).get("audio") or {}
        content_type = audio.get("contentType") or "audio/mp4"
        extension = "mp3" if content_type == "audio/mpeg" else "m4a"
        send_blob(req, resp, self.ctx.db, blobs.blob_info(self.ctx.db, job.audio_blob_id),
                  content_type=content_type, filename=f"audio_{job.id}.{extension}")

    on_head_download = on_get_download


class ReplicateWebhook:
    """``POST /api/webhooks/replicate``: verified, deduplicated, and only a hint to poll now.

    Polling stays the one path that changes state, so a webhook racing a poll cannot flip a
    scene twice; a webhook just makes the scene's actor look at its prediction at once.
    """

    auth = "none"
    MAX_BODY = 1024 * 1024

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()

    @described(Op(
        "Replicate prediction webhook (signature verified; only a hint to poll now)",
        ("webhooks",), {"type": "object", "properties": {"received": BOOL, "duplicate": BOOL}},
        body=OBJ, security=PUBLIC, errors=(401, 404),
        description="404 when no webhook secret is configured."))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        secret = self.ctx.settings.replicate_webhook_secret
        if not secret:
            raise NotFound()
        if req.content_length is not None and req.content_length > self.MAX_BODY:
            raise Unauthorized("Invalid webhook")
        raw = req.bounded_stream.read(self.MAX_BODY + 1)
        headers = {k.lower(): v for k, v in req.headers.items()}
        if not verify_webhook(secret, headers, raw):
            raise Unauthorized("Invalid webhook signature")
        webhook_id = headers.get("webhook-id", "")
        # Replicate retries with the same webhook-id; a retry is acknowledged, not re-acted.
        with self._seen_lock:  # request threads deliver webhooks concurrently
            duplicate = webhook_id in self._seen
            self._seen[webhook_id] = None
            while len(self._seen) > 10_000:
                self._seen.popitem(last=False)
        prediction_id = ""
        try:
            prediction_id = str(json.loads(raw).get("id", ""))
        except (ValueError, AttributeError):
            prediction_id = ""
        if prediction_id and not duplicate and self.ctx.runtime is not None:
            self.ctx.runtime.prediction_changed(prediction_id)
        ok(resp, {"received": True, "duplicate": duplicate})


def add_media_routes(app: falcon.App, ctx: AppContext, prefix: str = API) -> None:
    video = VideoResource(ctx)
    app.add_route(f"{prefix}/videos/{{job_id}}/data", video)
    app.add_route(f"{prefix}/videos/{{job_id}}/combined", video)
    app.add_route(f"{prefix}/videos/{{job_id}}/thumbnail", video, suffix="thumbnail")
    app.add_route(f"{prefix}/videos/{{job_id}}/clips/{{clip}}", video, suffix="clip")
    app.add_route(f"{prefix}/audio/generate-scenes", AudioGenerate(ctx))
    audio = AudioItem(ctx)
    app.add_route(f"{prefix}/audio/status/{{job_id}}", audio, suffix="status")
    app.add_route(f"{prefix}/audio/{{job_id}}/download", audio, suffix="download")
    app.add_route("/api/webhooks/replicate", ReplicateWebhook(ctx))


