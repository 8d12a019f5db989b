"""Settings: environment over .env, old key names, secrets that never print."""

from __future__ import annotations

import logging

import pytest

from actorvid.config import ConfigError, load_settings


def test_env_file_and_environment(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nACTORVID_DB=from-file.db\nexport XAI_API_KEY='xai-secret'\n"
                      "ACTORVID_SCENE_CONCURRENCY=3 # inline\n")
    settings = load_settings({"ACTORVID_DB": "from-env.db"}, dotenv=dotenv)
    assert str(settings.db_path) == "from-env.db"
    assert settings.xai_api_key.reveal() == "xai-secret"
    assert settings.scene_concurrency == 3


def test_defaults():
    settings = load_settings({}, dotenv=None)
    assert str(settings.db_path) == "scenes.db"
    assert settings.provider == "auto"
    assert settings.replicate_base_url == "https://api.replicate.com/v1"
    assert not settings.replicate_api_key


def test_secrets_never_print(caplog):
    settings = load_settings({"REPLICATE_API_KEY": "r8_topsecret",
                              "OPENAI_API_KEY": "sk-openai-secret"}, dotenv=None)
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s %r", settings, settings.redacted())
    assert "topsecret" not in caplog.text and "openai-secret" not in caplog.text
    assert settings.redacted()["replicate_api_key"] == "set"
    assert "topsecret" not in repr(settings)


@pytest.mark.parametrize("env", [
    {"ACTORVID_PROVIDER": "cloud"},
    {"ACTORVID_SCENE_CONCURRENCY": "many"},
    {"ACTORVID_SCENE_CONCURRENCY": "0"},
    {"ACTORVID_COOKIE_SECURE": "maybe"},
    {"ACTORVID_LOG_FORMAT": "xml"},
    {"ACTORVID_LOG_LEVEL": "loud"},
])
def test_bad_values_are_clear_errors(env):
    with pytest.raises(ConfigError):
        load_settings(env, dotenv=None)


def test_log_settings_and_the_admin_key_file_name(tmp_path):
    settings = load_settings({"ACTORVID_LOG_FORMAT": "JSON", "ACTORVID_LOG_LEVEL": "Warning",
                              "ACTORVID_DB": str(tmp_path / "shop.db")}, dotenv=None)
    assert (settings.log_format, settings.log_level) == ("json", "warning")
    assert settings.admin_key_file == tmp_path / "shop.db.admin-api-key.txt"
