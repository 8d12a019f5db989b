"""What every pipeline is given once by the app, and the error a pipeline step fails with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from actorvid.actors.pipeline import StepError
from actorvid.clock import IdFactory, new_uuid
from actorvid.config import Settings
from actorvid.ingest import AssetIngestor
from actorvid.media.ffmpeg import FFmpeg, MediaSlots
from actorvid.providers.base import ImageInput, PredictionService, Selector, StoryboardWriter
from actorvid.store import assets as asset_store
from actorvid.store.db import Database
from actorvid.store.jobs import Job
from actorvid.store.models import Scope


class AccessTokens(Protocol):
    """The one thing a pipeline needs of the accounts: a short-lived URL token for a provider.

    ``actorvid.accounts.Accounts`` is it; pipelines see only this, so they do not import the
    accounts package (the layer rule in ``docs/architecture.md``).
    """

    def mint_access_token(self, user_id: int, resource: str, ttl: int | None = None) -> str: ...


class PipelineError(StepError):
    """A job cannot go on; the message is for the user (it becomes the job's error)."""


@dataclass
class PipelineDeps:
    """Everything a pipeline uses, given once by the app."""

    db: Database
    settings: Settings
    accounts: AccessTokens
    ingestor: AssetIngestor
    selector: Selector
    local_selector: Selector
    writer: StoryboardWriter
    renderer_name: str
    music: PredictionService | None = None
    ffmpeg_locator: Callable[[], FFmpeg] | None = None
    new_id: IdFactory = new_uuid
    # The process's one bound on ffmpeg children (shared with uploads and local renders).
    media_slots: MediaSlots | None = None

    def ffmpeg(self) -> FFmpeg:
        if self.ffmpeg_locator is not None:
            return self.ffmpeg_locator()
        return FFmpeg.locate(self.settings.ffmpeg, slots=self.media_slots)


def owner_scope(job: Job) -> Scope:
    return Scope(job.user_id)


def stored_image(deps: PipelineDeps, asset_id: str, scope: Scope) -> ImageInput:
    """The stored image a scene animates, as a provider input. An image that no longer
    exists is an error, not a text scene."""
    with deps.db.read() as conn:
        asset = asset_store.get_asset(conn, asset_id, scope=scope)
    if asset is None or asset.asset_type != "image":
        raise PipelineError(f"Image {asset_id} of the storyboard no longer exists")
    return ImageInput(asset.id, asset.content_type, asset.size, asset.blob_id,
                      width=asset.width or 0, height=asset.height or 0)
