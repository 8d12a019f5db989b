"""Settings from the environment, with an optional ``.env`` file in the working directory.

The old backend's variable names (``REPLICATE_API_KEY``, ``XAI_API_KEY``, ``OPENAI_API_KEY``) are
read as they are; everything of ours carries the ``ACTORVID_`` prefix. Values already in the
environment win over the ``.env`` file, as with every dotenv loader.

Secrets are kept in :class:`Secret` so that ``repr()`` of the settings (and therefore any log line
or error that prints them) never shows a key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from actorvid.security import RECOMMENDED_SCRYPT, ScryptParams


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


class ConfigError(ValueError):
    """A setting has a value we cannot use."""


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=value`` lines, comments, quotes and ``export``."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def _int(env: Mapping[str, str], key: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer") from None
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], key: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number") from None
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}")
    return value


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be true or false")


def _scrypt(env: Mapping[str, str], key: str) -> ScryptParams:
    raw = env.get(key, "").strip()
    if not raw:
        return RECOMMENDED_SCRYPT
    try:
        return ScryptParams.parse(raw)
    except ValueError:
        raise ConfigError(f"{key} must be N,r,p with N a power of two (e.g. "
                          f"{RECOMMENDED_SCRYPT})") from None


def _list(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    raw = env.get(key, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment. Build with :func:`load_settings`."""

    db_path: Path = Path("scenes.db")
    data_dir: Path = Path(".")
    public_base_url: str = ""

    # Credentials of the external services (old names, read as they are).
    replicate_api_key: Secret = field(default_factory=lambda: Secret(""))
    xai_api_key: Secret = field(default_factory=lambda: Secret(""))
    openai_api_key: Secret = field(default_factory=lambda: Secret(""))
    replicate_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    # Bearer token for GET /metrics (a scraper is no user); admins' credentials work too.
    metrics_token: Secret = field(default_factory=lambda: Secret(""))

    # Base URLs, so tests can point the clients at loopback fakes.
    replicate_base_url: str = "https://api.replicate.com/v1"
    xai_base_url: str = "https://api.x.ai/v1"
    openai_base_url: str = "https://api.openai.com/v1"
    # Where Replicate posts webhooks (empty: derived from the public base URL when a webhook
    # secret is set, else no webhooks and polling alone); auto-cancel deadline of predictions.
    replicate_webhook_url: str = ""
    replicate_cancel_after: str = "30m"
    provider_timeout_seconds: float = 60.0
    xai_model: str = "grok-4-1-fast-non-reasoning"
    openai_model: str = "gpt-4o-mini"

    # "auto" (remote where a key is set), "local" or "remote".
    provider: str = "auto"

    # HTTP and auth.
    max_upload_bytes: int = 200 * 1024 * 1024
    max_json_bytes: int = 2 * 1024 * 1024
    # Serialised GET answers kept by their change stamp (api/answers.py); 0 turns it off.
    answer_cache_bytes: int = 16 * 1024 * 1024
    session_ttl_seconds: int = 5 * 24 * 3600
    access_token_ttl_seconds: int = 2 * 3600
    cookie_secure: bool = False
    # Whether a job that does not say gets a free local preview of its storyboard (issue 19).
    previews: bool = True
    cors_origins: tuple[str, ...] = ()
    # A response whose bytes the client has not taken for this long is dropped; large
    # binary bodies in flight at once, in all and per user (past them: 429 + Retry-After).
    send_timeout_seconds: float = 60.0
    max_streams: int = 4
    max_streams_per_user: int = 2
    scrypt_params: ScryptParams = RECOMMENDED_SCRYPT

    # URL ingestion.
    url_allowlist: tuple[str, ...] = ()
    fetch_timeout_seconds: float = 60.0
    fetch_max_redirects: int = 5
    # One budget for a whole URL-ingestion request (bulk included) and for a job's photos;
    # a process-wide fair fetch pool; URL-ingestion requests in flight, in all and per user.
    ingest_deadline_seconds: float = 120.0
    fetch_workers: int = 8
    fetch_per_user: int = 4
    max_url_requests: int = 4
    max_url_requests_per_user: int = 2

    # Work limits.
    scene_concurrency: int = 10
    scene_max_attempts: int = 3
    poll_first_seconds: float = 2.0
    poll_max_seconds: float = 30.0
    replicate_creates_per_minute: int = 600
    media_workers: int = 2
    read_pool_size: int = 8

    # ffmpeg binary; empty means PATH, then the imageio-ffmpeg wheel.
    ffmpeg: str = ""

    # Logging when the process has none set up yet: level and "text" or "json" lines.
    log_level: str = "info"
    log_format: str = "text"

    @property
    def admin_key_file(self) -> Path:
        """Where the first admin key goes: named after the database, so two databases in one
        folder keep a key file each."""
        return self.data_dir / f"{self.db_path.name}.admin-api-key.txt"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict fit for logs: secrets show only whether they are set."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "set" if value else "unset"
            elif isinstance(value, Path | ScryptParams):
                value = str(value)
            out[f.name] = value
        return out


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) over an optional ``.env`` file."""
    env: dict[str, str] = {}
    if dotenv is not None:
        env.update(read_dotenv(dotenv))
    env.update(os.environ if environ is None else environ)

    provider = env.get("ACTORVID_PROVIDER", "auto").strip().lower() or "auto"
    if provider not in ("auto", "local", "remote"):
        raise ConfigError("ACTORVID_PROVIDER must be auto, local or remote")

    log_format = env.get("ACTORVID_LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigError("ACTORVID_LOG_FORMAT must be text or json")
    log_level = env.get("ACTORVID_LOG_LEVEL", "info").strip().lower() or "info"
    if log_level not in LOG_LEVELS:
        raise ConfigError("ACTORVID_LOG_LEVEL must be one of: " + ", ".join(LOG_LEVELS))

    public_base_url = env.get("ACTORVID_PUBLIC_BASE_URL", "").rstrip("/")
    webhook_url = env.get("ACTORVID_REPLICATE_WEBHOOK_URL", "")
    if not webhook_url and public_base_url and env.get("ACTORVID_REPLICATE_WEBHOOK_SECRET"):
        webhook_url = f"{public_base_url}/api/webhooks/replicate"
    db_path = Path(env.get("ACTORVID_DB", "scenes.db"))
    data_dir = Path(env.get("ACTORVID_DATA_DIR") or db_path.parent or ".")
    return Settings(
        db_path=db_path,
        data_dir=data_dir,
        public_base_url=public_base_url,
        replicate_webhook_url=webhook_url,
        replicate_cancel_after=env.get("ACTORVID_REPLICATE_CANCEL_AFTER", "30m"),
        provider_timeout_seconds=_float(env, "ACTORVID_PROVIDER_TIMEOUT_SECONDS",
                                        Settings.provider_timeout_seconds, minimum=1.0),
        replicate_api_key=Secret(env.get("REPLICATE_API_KEY", "")),
        xai_api_key=Secret(env.get("XAI_API_KEY", "")),
        openai_api_key=Secret(env.get("OPENAI_API_KEY", "")),
        replicate_webhook_secret=Secret(env.get("ACTORVID_REPLICATE_WEBHOOK_SECRET", "")),
        metrics_token=Secret(env.get("ACTORVID_METRICS_TOKEN", "")),
        replicate_base_url=env.get("ACTORVID_REPLICATE_BASE_URL", Settings.replicate_base_url)
        .rstrip("/"),
        xai_base_url=env.get("ACTORVID_XAI_BASE_URL", Settings.xai_base_url).rstrip("/"),
        openai_base_url=env.get("ACTORVID_OPENAI_BASE_URL", Settings.openai_base_url).rstrip("/"),
        xai_model=env.get("ACTORVID_XAI_MODEL", Settings.xai_model),
        openai_model=env.get("ACTORVID_OPENAI_MODEL", Settings.openai_model),
        provider=provider,
        max_upload_bytes=_int(env, "ACTORVID_MAX_UPLOAD_BYTES", Settings.max_upload_bytes,
                              minimum=1),
        max_json_bytes=_int(env, "ACTORVID_MAX_JSON_BYTES", Settings.max_json_bytes, minimum=1),
        answer_cache_bytes=_int(env, "ACTORVID_ANSWER_CACHE_BYTES", Settings.answer_cache_bytes,
                                minimum=0),
        session_ttl_seconds=_int(env, "ACTORVID_SESSION_TTL_SECONDS",
                                 Settings.session_ttl_seconds, minimum=60),
        access_token_ttl_seconds=_int(env, "ACTORVID_ACCESS_TOKEN_TTL_SECONDS",
                                      Settings.access_token_ttl_seconds, minimum=60),
        cookie_secure=_bool(env, "ACTORVID_COOKIE_SECURE", False),
        previews=_bool(env, "ACTORVID_PREVIEWS", True),
        cors_origins=_list(env, "ACTORVID_CORS_ORIGINS"),
        scrypt_params=_scrypt(env, "ACTORVID_SCRYPT_PARAMS"),
        send_timeout_seconds=_float(env, "ACTORVID_SEND_TIMEOUT_SECONDS",
                                    Settings.send_timeout_seconds, minimum=0.1),
        max_streams=_int(env, "ACTORVID_MAX_STREAMS", Settings.max_streams, minimum=1),
        max_streams_per_user=_int(env, "ACTORVID_MAX_STREAMS_PER_USER",
                                  Settings.max_streams_per_user, minimum=1),
        url_allowlist=_list(env, "ACTORVID_URL_ALLOWLIST"),
        fetch_timeout_seconds=_float(env, "ACTORVID_FETCH_TIMEOUT_SECONDS",
                                     Settings.fetch_timeout_seconds, minimum=0.1),
        fetch_max_redirects=_int(env, "ACTORVID_FETCH_MAX_REDIRECTS",
                                 Settings.fetch_max_redirects),
        ingest_deadline_seconds=_float(env, "ACTORVID_INGEST_DEADLINE_SECONDS",
                                       Settings.ingest_deadline_seconds, minimum=0.1),
        fetch_workers=_int(env, "ACTORVID_FETCH_WORKERS", Settings.fetch_workers, minimum=1),
        fetch_per_user=_int(env, "ACTORVID_FETCH_PER_USER", Settings.fetch_per_user,
                            minimum=1),
        max_url_requests=_int(env, "ACTORVID_MAX_URL_REQUESTS", Settings.max_url_requests,
                              minimum=1),
        max_url_requests_per_user=_int(env, "ACTORVID_MAX_URL_REQUESTS_PER_USER",
                                       Settings.max_url_requests_per_user, minimum=1),
        scene_concurrency=_int(env, "ACTORVID_SCENE_CONCURRENCY", Settings.scene_concurrency,
                               minimum=1),
        scene_max_attempts=_int(env, "ACTORVID_SCENE_MAX_ATTEMPTS", Settings.scene_max_attempts,
                                minimum=1),
        poll_first_seconds=_float(env, "ACTORVID_POLL_FIRST_SECONDS",
                                  Settings.poll_first_seconds, minimum=0.01),
        poll_max_seconds=_float(env, "ACTORVID_POLL_MAX_SECONDS", Settings.poll_max_seconds,
                                minimum=0.05),
        replicate_creates_per_minute=_int(env, "ACTORVID_REPLICATE_CREATES_PER_MINUTE",
                                          Settings.replicate_creates_per_minute, minimum=1),
        media_workers=_int(env, "ACTORVID_MEDIA_WORKERS", Settings.media_workers, minimum=1),
        read_pool_size=_int(env, "ACTORVID_READ_POOL_SIZE", Settings.read_pool_size, minimum=1),
        ffmpeg=env.get("ACTORVID_FFMPEG", ""),
        log_level=log_level,
        log_format=log_format,
    )
