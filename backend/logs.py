"""Structured logs: one JSON object a line in a rotating file, readable text on the terminal;
or, in team mode and containers (``CHATKIT_DESK_LOG_FORMAT=json``), JSON lines on stdout only,
for the platform's log collector.

Message text is never logged, and a last processor scrubs anything that looks like a key or a
token from every line, including tracebacks, in case a library puts one in an error message.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

import structlog

LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3
QUIET_LOGGERS = ("httpx2", "httpx", "httpcore", "openai", "chatkit", "openai.agents", "mcp")

_SECRET_PATTERNS = re.compile(
    r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+"  # JWTs (access tokens, sign-in links, sessions)
    r"|(?i:bearer)\s+[\w.~+/=-]{8,}"  # Authorization headers
    r"|\bsk-[\w-]{8,}"  # OpenAI-style keys
    r"|\bAIza[\w-]{20,}"  # Google API keys
)


class SecretScrubber:
    """A structlog processor replacing known secrets and secret-looking strings with a marker."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        self._known.update(s for s in secrets if s and len(s) >= 8)

    def scrub(self, text: str) -> str:
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return _SECRET_PATTERNS.sub("[redacted]", text)

    def __call__(
        self, _: Any, __: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self.scrub(value)
        return event


scrubber = SecretScrubber()


def _drop_color_message(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn passes an ANSI-coloured copy of its message as an extra; the message suffices."""
    event.pop("color_message", None)
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrubber,
    ]


def configure(
    log_file: Path | None = None, level: int = logging.INFO, json_stdout: bool = False
) -> None:
    """Route stdlib and structlog logging to stderr (text) and, if given, ``log_file`` (JSON);
    with ``json_stdout``, to stdout as JSON lines and nowhere else."""
    shared = _shared_processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    def formatter(renderer: Any) -> logging.Formatter:
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )

    handlers: list[logging.Handler] = []
    if json_stdout:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(formatter(structlog.processors.JSONRenderer()))
    else:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(formatter(structlog.dev.ConsoleRenderer(colors=False)))
    handlers.append(console)
    if log_file is not None and not json_stdout:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
        )
        to_file.setFormatter(formatter(structlog.processors.JSONRenderer()))
        handlers.append(to_file)

    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def known_secrets(values: Iterable[str | None]) -> None:
    scrubber.add(*values)
