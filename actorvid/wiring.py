"""The runtime behind the API: providers, job pipelines and the actor system, built once.

``create_app`` calls :func:`start_runtime`; there is one actor system per database file per
process (a second ``create_app`` on the same file reuses the running one), stopped by
:meth:`Runtime.close` or by SIGTERM/SIGINT through ``actorvid serve``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from actorvid.accounts import Accounts
from actorvid.actors.runtime import ActorSystem, start_system
from actorvid.actors.services import RuntimeOptions
from actorvid.clock import Clock, IdFactory, new_uuid, utc_now
from actorvid.config import Settings
from actorvid.domain.drafts import SceneDraft
from actorvid.errors import MediaError
from actorvid.ingest import AssetIngestor
from actorvid.media.ffmpeg import PRIORITY_PREVIEW, FFmpeg, MediaSlots
from actorvid.media.preview import PREVIEW_FPS
from actorvid.metrics import NO_METRICS, PredictionEvents
from actorvid.pipelines.audio import AudioPipeline
from actorvid.pipelines.deps import PipelineDeps
from actorvid.pipelines.jobs import ImagePairsPipeline, PropertyPipeline, StandardPipeline
from actorvid.pipelines.preview import PreviewMaker
from actorvid.providers.base import ImageInput, ReadBlob, StoryboardRequest
from actorvid.providers.factory import Providers, build_providers
from actorvid.providers.local import LocalMusic, LocalRenderer
from actorvid.providers.local_selector import LocalSelector
from actorvid.store import blobs
from actorvid.store import jobs as job_store
from actorvid.store.db import Database
from actorvid.store.local_predictions import DatabasePredictions

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    system: ActorSystem
    providers: Providers
    deps: PipelineDeps
    owns_system: bool

    @property
    def renderer_name(self) -> str:
        return self.providers.renderer.name

    def preview_changed(self, job_id: int) -> None:
        """A storyboard edit: the job's preview follows (the old one is stale already)."""
        if self.system.running:
            self.system.coordinator.refresh_preview(job_id)

    def render_draft(self, preview_id: str) -> None:
        self.system.coordinator.render_draft(preview_id)

    def rewrite_scene(self, brief: Mapping[str, Any], scene: SceneDraft, feedback: str
                      ) -> SceneDraft:
        """A scene rewritten by the configured storyboard writer (an LLM call when there is
        a key: it runs on the request's thread, as the answer is the rewritten scene).
        ``brief`` is the job's request; the writers read only it of the request."""
        request = StoryboardRequest(brief=dict(brief), target_duration=scene.duration,
                                    scene_count=1, asset_ids=scene.assets)
        return self.providers.storyboard.rewrite_scene(request, scene, feedback)

    def poll_now(self, job_id: int, sub_job_id: str, provider_id: str) -> None:
        """A webhook says a prediction moved: let its scene look now instead of at its timer."""
        self.system.coordinator.poke_scene(job_id, sub_job_id, provider_id)

    def prediction_changed(self, provider_id: str) -> None:
        """A prediction finished (a webhook, or the local provider's own notice): the scene
        that holds it polls now."""
        if not self.system.running:
            return
        with self.deps.db.read() as conn:
            sub = job_store.find_sub_job_by_provider_id(conn, provider_id)
        if sub is not None:
            self.poll_now(sub.job_id, sub.id, provider_id)

    def close(self, timeout: float | None = None) -> None:
        if self.owns_system:
            self.system.stop(timeout)
            self.providers.close()
            if self.system.previews is not None:
                self.system.previews.close()


def start_runtime(settings: Settings, db: Database, accounts: Accounts, *,
                  ingestor: AssetIngestor, new_id: IdFactory = new_uuid,
                  clock: Clock = utc_now,
                  options: RuntimeOptions | None = None, media_slots: MediaSlots | None = None,
                  metrics: PredictionEvents = NO_METRICS, **overrides: Any) -> Runtime:
    def read_blob(blob_id: str) -> Iterator[bytes]:
        return blobs.iter_blob(db, blobs.blob_info(db, blob_id))

    def mint_url(image: ImageInput) -> str:
        return image.access_url  # minted per scene by the pipeline, bound to the asset

    runtime: Runtime | None = None

    def local_prediction_changed(provider_id: str) -> None:
        if runtime is not None:
            runtime.prediction_changed(provider_id)

    ffmpeg = _ffmpeg_or_none(settings, media_slots)
    providers = build_providers(settings, read_blob, mint_url=mint_url, ffmpeg=ffmpeg,
                                local_store=DatabasePredictions(db),
                                on_local_change=local_prediction_changed)
    deps = PipelineDeps(
        db=db, settings=settings, accounts=accounts,
        ingestor=ingestor,
        selector=providers.selector, local_selector=LocalSelector(),
        writer=providers.storyboard, renderer_name=providers.renderer.name,
        music=providers.music, new_id=new_id, media_slots=media_slots, **overrides)
    video = {"image_pairs": ImagePairsPipeline(deps), "property_video": PropertyPipeline(deps),
             "standard": StandardPipeline(deps), "audio": AudioPipeline(deps)}
    previews = preview_maker(deps, read_blob, ffmpeg)
    system = start_system(db, provider=providers.renderer, music=providers.music,
                          pipelines=video,
                          options=options or RuntimeOptions.from_settings(settings),
                          metrics=metrics, previews=previews)
    owns = system.provider is providers.renderer
    if not owns:
        providers.close()  # another create_app on this file runs the system and its providers
        if previews is not None:
            previews.close()
    runtime = Runtime(system, providers, deps, owns)
    return runtime


def preview_maker(deps: PipelineDeps, read_blob: ReadBlob,
                  ffmpeg: FFmpeg | None) -> PreviewMaker | None:
    """Previews' own local providers (never the configured, maybe paid, ones): text clips
    and the music bed (photo scenes are drawn by the PreviewMaker itself), whose ffmpeg
    children queue behind paid work for the media slots. None without ffmpeg."""
    if ffmpeg is None:
        return None
    low = ffmpeg.at_priority(PRIORITY_PREVIEW)
    workers = max(1, deps.settings.media_workers)
    # Outputs are fetched at once; a short retention keeps their temp copies few.
    return PreviewMaker(deps, LocalRenderer(read_blob, ffmpeg=low, workers=workers,
                                            fps=PREVIEW_FPS, preset="ultrafast",
                                            retention=600.0),
                        LocalMusic(read_blob, ffmpeg=low, workers=1, retention=600.0), low)


def _ffmpeg_or_none(settings: Settings, slots: MediaSlots | None) -> FFmpeg | None:
    try:
        return FFmpeg.locate(settings.ffmpeg, slots=slots)
    except MediaError:
        return None  # build_providers says so when a local provider needs it
