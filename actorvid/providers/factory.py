"""One implementation per kind, chosen by configuration.

``ACTORVID_PROVIDER=auto`` (default): a kind is remote when its key is set, local otherwise;
``local`` forces every kind local; ``remote`` forces remote and refuses to start without keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actorvid.config import ConfigError, Settings
from actorvid.media.ffmpeg import FFmpeg
from actorvid.providers.base import (
    MintUrl,
    PredictionService,
    ReadBlob,
    Selector,
    StoryboardWriter,
)
from actorvid.providers.llm import ChatSelector, ChatStoryboardWriter
from actorvid.providers.local import LocalMusic, LocalRenderer
from actorvid.providers.local_selector import LocalSelector
from actorvid.providers.local_store import LocalPredictionStore
from actorvid.providers.local_writer import LocalStoryboardWriter
from actorvid.providers.openai import OpenAIChatClient
from actorvid.providers.replicate import ReplicateClient, ReplicateMusic, ReplicateRenderer
from actorvid.providers.xai import ChatClient

logger = logging.getLogger(__name__)


@dataclass
class Providers:
    renderer: PredictionService
    music: PredictionService
    selector: Selector
    storyboard: StoryboardWriter

    def close(self) -> None:
        """Stop local worker pools (remote ones hold nothing)."""
        for service in (self.renderer, self.music):
            close = getattr(service, "close", None)
            if close is not None:
                close()


def _remote(settings: Settings, key_set: bool, kind: str) -> bool:
    if settings.provider == "local":
        return False
    if settings.provider == "remote":
        if not key_set:
            raise ConfigError(f"ACTORVID_PROVIDER=remote but no API key is set for {kind}")
        return True
    return key_set


def build_providers(settings: Settings, read_blob: ReadBlob, *,
                    mint_url: MintUrl | None = None, ffmpeg: FFmpeg | None = None,
                    webhook_url: str | None = None,
                    local_store: LocalPredictionStore | None = None,
                    on_local_change: Callable[[str], None] | None = None) -> Providers:
    """Build the four providers. ``read_blob(blob_id)`` yields a stored file's bytes;
    ``mint_url(image)`` returns our short-lived URL for it (used when a public base URL is set).
    The local providers keep their predictions in ``local_store`` (so they outlive a restart)
    and tell ``on_local_change(prediction_id)`` when one finishes.
    """
    timeout = settings.provider_timeout_seconds

    video_remote = _remote(settings, bool(settings.replicate_api_key), "Replicate")
    if video_remote:
        client = ReplicateClient(
            settings.replicate_base_url, settings.replicate_api_key, timeout=timeout,
            cancel_after=settings.replicate_cancel_after,
            webhook_url=webhook_url if webhook_url is not None else settings.replicate_webhook_url)
        shared: dict[str, Any] = {"mint_url": mint_url,
                                  "public_base_url": settings.public_base_url}
        renderer: PredictionService = ReplicateRenderer(
            client, read_blob, ffmpeg=ffmpeg or FFmpeg.locate(settings.ffmpeg), **shared)
        music: PredictionService = ReplicateMusic(client, read_blob, **shared)
    else:
        ff = ffmpeg or FFmpeg.locate(settings.ffmpeg)
        workers = max(1, settings.media_workers)
        renderer = LocalRenderer(read_blob, ffmpeg=ff, workers=workers, store=local_store,
                                 on_change=on_local_change)
        music = LocalMusic(read_blob, ffmpeg=ff, workers=1, store=local_store,
                           on_change=on_local_change)

    local_selector = LocalSelector()
    selector: Selector
    if _remote(settings, bool(settings.xai_api_key), "xAI"):
        xai = ChatClient(settings.xai_base_url, settings.xai_api_key, settings.xai_model,
                         timeout=timeout)
        selector = ChatSelector(xai, fallback=local_selector, read_blob=read_blob)
    else:
        selector = local_selector

    storyboard: StoryboardWriter
    llm_key = bool(settings.openai_api_key) or bool(settings.xai_api_key)
    if _remote(settings, llm_key, "the storyboard writer (OpenAI or xAI)"):
        if settings.openai_api_key:
            chat: ChatClient = OpenAIChatClient(settings.openai_base_url,
                                                settings.openai_api_key,
                                                settings.openai_model, timeout=timeout)
        else:
            chat = ChatClient(settings.xai_base_url, settings.xai_api_key, settings.xai_model,
                              timeout=timeout)
        storyboard = ChatStoryboardWriter(chat)
    else:
        storyboard = LocalStoryboardWriter()

    logger.info("providers: renderer=%s music=%s selector=%s storyboard=%s",
                renderer.name, music.name, selector.name, storyboard.name)
    return Providers(renderer, music, selector, storyboard)
