"""Configuration picks one implementation per kind."""

from __future__ import annotations

import pytest

from actorvid.config import ConfigError, Secret, Settings
from actorvid.providers import build_providers


def _names(settings: Settings) -> tuple[str, str, str, str]:
    providers = build_providers(settings, lambda blob_id: iter(()))
    try:
        return (providers.renderer.name, providers.music.name, providers.selector.name,
                providers.storyboard.name)
    finally:
        providers.close()


def test_no_keys_means_local() -> None:
    assert _names(Settings()) == ("local", "local", "local", "local")


def test_auto_goes_remote_per_key() -> None:
    assert _names(Settings(replicate_api_key=Secret("r8_x"))) == (
        "replicate", "replicate", "local", "local")
    assert _names(Settings(xai_api_key=Secret("xai-x"))) == ("local", "local", "xai", "xai")
    assert _names(Settings(xai_api_key=Secret("xai-x"), openai_api_key=Secret("sk-x")))[3] == \
        "openai"


def test_local_can_be_forced_and_remote_needs_keys() -> None:
    every_key = Settings(replicate_api_key=Secret("r8"), xai_api_key=Secret("xai"),
                         provider="local")
    assert _names(every_key) == ("local", "local", "local", "local")
    with pytest.raises(ConfigError):
        _names(Settings(provider="remote", xai_api_key=Secret("xai")))
    assert _names(Settings(provider="remote", replicate_api_key=Secret("r8"),
                           xai_api_key=Secret("xai"))) == ("replicate", "replicate", "xai",
                                                           "xai")
