"""Settings: environment > ``settings.json`` in the data dir > defaults.

The data dir itself comes from the command line, ``CHATKIT_DESK_DATA_DIR`` or the platform's user
data dir, and has to be known before ``settings.json`` can be read, so it is resolved first.
Provider API keys are *not* settings: they live in the keyring (see ``backend.secrets``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from backend.attachments.kinds import ACCEPTED_TYPES
from backend.data_dir import ENV_PREFIX, SETTINGS_FILE_NAME, default_data_dir, resolve_data_dir

log = logging.getLogger(__name__)

DEFAULT_OPENAI_MODEL = "gpt-5-mini"
DEFAULT_GEMINI_MODEL = "gemini-3-flash"
DEFAULT_INSTRUCTIONS = (
    "You are a helpful assistant. Answer clearly and concisely, and say so when you are not sure."
)

Provider = Literal["openai", "gemini"]


class SettingsError(Exception):
    """A setting has a value the app cannot run with; the message names it and says what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    provider: Provider = "openai"
    openai_model: str = Field(DEFAULT_OPENAI_MODEL, min_length=1)
    openai_base_url: str = "https://api.openai.com/v1"
    gemini_model: str = Field(DEFAULT_GEMINI_MODEL, min_length=1)
    gemini_base_url: str = "https://generativelanguage.googleapis.com/v1beta/openai/"
    instructions: str = Field(DEFAULT_INSTRUCTIONS, min_length=1)
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8765, ge=1, le=65535)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Host names (besides the loopback ones) requests may be addressed to, e.g. behind a proxy."""
    data_dir: Path = Field(default_factory=default_data_dir)
    jwt_secret: str | None = Field(None, min_length=32, repr=False)
    upstream_timeout: float = Field(60.0, gt=0, le=3600)
    """Longest wait for the first token or between two tokens."""
    first_token_timeout: float | None = Field(None, gt=0, le=3600)
    """Longest wait for the first token, if it should differ (slow reasoning models)."""
    connect_timeout: float = Field(10.0, gt=0, le=300)
    turn_timeout: float = Field(600.0, gt=0, le=86400)
    """Longest a whole answer may take."""
    provider_concurrency: int = Field(256, ge=1)
    """Upstream requests in flight at once, per provider; more wait in a short queue."""
    provider_queue: int = Field(128, ge=0)
    provider_queue_wait: float = Field(30.0, gt=0)
    domain_key: str = "domain_pk_localhost_dev"
    tray_starts_server: bool = True
    """Whether the tray app starts the server when it starts."""
    web_client: Literal["auto", "builtin"] = "auto"
    """The built-in page uses ChatKit.js when its script loads ("auto") or the built-in client."""
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_message_chars: int = Field(100_000, ge=1)
    rate_limit_per_minute: int = Field(600, ge=1)
    max_streams_per_user: int = Field(256, ge=1)
    max_streams: int = Field(512, ge=1)
    max_attachment_bytes: int = Field(20 * 1024 * 1024, ge=1)
    """The largest file a user may attach (declared and actual size)."""
    max_attachments_per_message: int = Field(10, ge=1, le=100)
    max_message_attachment_bytes: int = Field(50 * 1024 * 1024, ge=1)
    """All of one message's files together (OpenAI takes at most 50 MB of files a request)."""
    attachment_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(ACCEPTED_TYPES)
    )
    """The file types users may attach (a subset of the ones ChatKit Desk can read)."""
    attachment_history_bytes: int = Field(16 * 1024 * 1024, ge=0)
    """How many bytes of attachments earlier messages may resend to the model each turn (the
    newest message's always go); older ones are named only."""
    unsent_attachment_hours: float = Field(24.0, gt=0)
    """Uploads never sent with a message are removed after this many hours."""
    mcp_config: Path | None = None
    """The tool servers' file (``mcp.json``); default: ``mcp.json`` in the data dir."""
    max_tool_steps: int = Field(10, ge=1, le=100)
    """How many times in one turn the model may call tools before it must answer."""
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None
    """For reasoning models: how hard the model thinks (unset: the model's default; "none":
    no reasoning, for the models that can answer without)."""
    reasoning_summary: Literal["auto", "concise", "detailed"] | None = None
    """Show the model's thinking before the answer: OpenAI's reasoning summaries (this level of
    detail), Gemini's thoughts (any value turns them on)."""
    public_url: str | None = None
    """Where users reach the server through a load balancer (``https://desk.example.com``): its
    host and origin are allowed, sign-in links point there, and the session cookie is named
    without the port (Secure when it is https)."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Addresses or networks of the proxies whose ``X-Forwarded-For``/``-Proto`` are believed
    (uvicorn's ``forwarded_allow_ips``; ``*`` trusts every peer)."""
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object a line on stdout (team mode, containers), no log file."""
    drain_seconds: float = Field(30.0, ge=0, le=3600)
    """On SIGTERM, how long running answers may go on before they end with a retryable error."""
    sse_keepalive_seconds: float = Field(15.0, gt=0, le=300)
    """A comment line is sent on an event stream silent for this long, so that no proxy in
    between closes it as idle while the model thinks."""
    database_url: str | None = Field(None, repr=False)
    """Team mode: threads, sign-in links and the rate limit in this Postgres database
    (``postgresql://user:password@host/db``), shared by every replica; unset: the data dir's
    SQLite file. Needs ``jwt_secret``."""
    database_pool_size: int = Field(10, ge=1, le=1000)
    """Team mode: connections to the database each replica keeps at most."""

    @field_validator("openai_base_url", "gemini_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. https://api.openai.com/v1")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is not None and urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL, e.g. postgresql://desk:secret@db/desk")
        return value

    def check_team_mode(self) -> None:
        """Team mode signs with one secret on every replica: a token or sign-in link from one
        must be good on the others, so a secret made up by each replica will not do."""
        if self.database_url is not None and self.jwt_secret is None:
            raise SettingsError(
                "team mode (CHATKIT_DESK_DATABASE_URL) needs CHATKIT_DESK_JWT_SECRET: set it to "
                "the same long random string (32+ characters) on every replica"
            )

    @field_validator("attachment_types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [entry.strip().lower() for entry in value.split(",") if entry.strip()]
        unknown = [entry for entry in value if entry not in ACCEPTED_TYPES]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} cannot be read; choose among {', '.join(ACCEPTED_TYPES)}"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None:
            return None
        parts = urlsplit(value.strip())
        has_more = parts.path not in ("", "/") or parts.query or parts.fragment
        if parts.scheme not in ("http", "https") or not parts.hostname or has_more:
            raise ValueError(f"{value!r} is not a URL like https://desk.example.com (no path)")
        return f"{parts.scheme}://{parts.netloc}".lower()

    @field_validator("allowed_origins", "allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [entry.strip().rstrip("/") for entry in value.split(",") if entry.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            bracketed_ipv6 = host.startswith("[") and host.endswith("]")
            if not host or any(ch in host for ch in "/@ ") or (":" in host and not bracketed_ipv6):
                raise ValueError(f"{host!r} is not a host name like chat.example.com")
        return [host.lower() for host in hosts]

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
                raise ValueError(f"{origin!r} is not an origin like http://localhost:5173")
        return origins

    @property
    def model(self) -> str:
        """The model of the selected provider."""
        return self.openai_model if self.provider == "openai" else self.gemini_model

    @property
    def base_url(self) -> str:
        return self.openai_base_url if self.provider == "openai" else self.gemini_base_url

    @property
    def settings_file(self) -> Path:
        return self.data_dir / SETTINGS_FILE_NAME

    @property
    def database_file(self) -> Path:
        return self.data_dir / "chatkit-desk.sqlite3"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def mcp_config_file(self) -> Path:
        return (self.mcp_config or self.data_dir / "mcp.json").expanduser()

    @property
    def log_file(self) -> Path:
        """The server's structured log (JSON lines, rotated); the tray's "Open logs" opens it."""
        return self.log_dir / "chatkit-desk.log"


def _settings_class_for(settings_file: Path) -> type[Settings]:
    """A ``Settings`` subclass whose file source is ``settings_file`` (env still wins over it)."""

    class _FileBackedSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                init_settings,
                env_settings,
                JsonConfigSettingsSource(settings_cls, json_file=settings_file),
            )

    return _FileBackedSettings


def _check_settings_file(path: Path) -> None:
    if not path.exists():
        return
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(
            f"{path} cannot be read ({exc}); fix or delete it to go back to the defaults"
        ) from exc
    if not isinstance(content, dict):
        raise SettingsError(f"{path} must hold a JSON object; fix or delete it")


def field_errors(exc: ValidationError) -> list[tuple[str | None, str]]:
    """Each problem as (the setting it is about, if any; pydantic's message for a person)."""
    return [
        (
            str(error["loc"][0]) if error["loc"] else None,
            str(error["msg"]).removeprefix("Value error, "),
        )
        for error in exc.errors()
    ]


def _describe(exc: ValidationError) -> str:
    """One line naming every bad setting and its environment variable."""
    return "; ".join(
        f"invalid setting {field or 'settings'} ({ENV_PREFIX}{(field or '').upper()}): {message}"
        for field, message in field_errors(exc)
    )


def load_settings(data_dir: str | Path | None = None, **overrides: Any) -> Settings:
    """Load the settings, or raise ``SettingsError`` with one line naming the bad setting.

    ``overrides`` are command-line values (``--host``, ``--port``); they win over everything.
    """
    resolved_dir = resolve_data_dir(data_dir)
    settings_file = resolved_dir / SETTINGS_FILE_NAME
    _check_settings_file(settings_file)
    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return _settings_class_for(settings_file)(data_dir=resolved_dir, **values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


EDITABLE_FIELDS = frozenset(
    {
        "provider",
        "openai_model",
        "openai_base_url",
        "gemini_model",
        "gemini_base_url",
        "instructions",
        "host",
        "port",
        "allowed_origins",
        "upstream_timeout",
        "first_token_timeout",
        "connect_timeout",
        "turn_timeout",
        "max_tool_steps",
        "reasoning_effort",
        "reasoning_summary",
        "domain_key",
        "web_client",
        "tray_starts_server",
    }
)
"""What the settings window may write to ``settings.json``; never a secret."""


def read_settings_file(data_dir: Path) -> dict[str, Any]:
    path = data_dir / SETTINGS_FILE_NAME
    _check_settings_file(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_settings_file(data_dir: Path, changes: dict[str, Any]) -> Path:
    """Merge ``changes`` into ``settings.json`` after validating them; written atomically."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise SettingsError(f"not a setting that can be saved: {', '.join(sorted(unknown))}")
    merged = {**read_settings_file(data_dir), **changes}
    try:
        Settings.model_validate({**merged, "data_dir": data_dir})  # no environment involved
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / SETTINGS_FILE_NAME
    temporary = target.with_name(f".{SETTINGS_FILE_NAME}.tmp")
    temporary.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target


class LiveSettings:
    """The current settings, re-read when ``settings.json`` changes.

    The settings window writes the file; the server calls ``current()`` once per turn (a
    ``stat``), so a new provider, model or instructions apply to the next message without a
    restart. A file that has become invalid is reported and the last good settings stay.
    """

    def __init__(self, data_dir: str | Path | None = None, **overrides: Any) -> None:
        self._overrides = overrides
        self._settings = load_settings(data_dir, **overrides)
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            status = self._settings.settings_file.stat()
        except FileNotFoundError:
            return None
        return status.st_mtime_ns, status.st_size

    def current(self) -> Settings:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._settings = load_settings(self._settings.data_dir, **self._overrides)
            except SettingsError as exc:
                log.warning(
                    "settings.json changed but is not valid, keeping the last good settings: %s",
                    exc,
                )
        return self._settings
