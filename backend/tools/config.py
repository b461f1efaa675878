"""``mcp.json``: the tool servers, in the format people already keep for Claude Desktop and Cursor.

``{"mcpServers": {"NAME": {...}}}`` (VS Code's ``"servers"`` is read too), so an existing file
can be pasted as it is: a local server has ``command``, ``args``, ``env``, ``cwd``; a remote one
``url`` and ``headers`` (Streamable HTTP; ``"transport": "sse"``, or Claude Code's
``"type": "sse"``, for the older transport). Keys of other apps are ignored, Cline's
``"disabled"`` is honoured. ChatKit Desk's own keys, all optional: ``enabled``,
``allowedTools``, ``requireApproval`` (``"always"``, ``"never"`` or the tools that need it) and
``timeout`` (seconds per call). ``${env:NAME}`` and ``${userHome}`` (Cursor's forms) are
expanded in ``command``, ``args``, ``env``, ``cwd``, ``url`` and ``headers``, so the file itself
needs no secret.

A file that cannot be used is one line naming the server and the field (``McpConfigError``);
the server runs without tools meanwhile.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_TIMEOUT_SECONDS = 60.0
MAX_TIMEOUT_SECONDS = 3600.0
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

Approval = Literal["always", "never"] | tuple[str, ...]
Transport = Literal["stdio", "streamable-http", "sse"]


class McpConfigError(Exception):
    """``mcp.json`` cannot be used; the message names the file, the server and the field."""


@dataclass(frozen=True)
class ToolServer:
    name: str
    transport: Transport
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    allowed_tools: tuple[str, ...] | None = None
    """``None``: every tool the server offers."""
    require_approval: Approval = "always"
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def needs_approval(self, tool: str) -> bool:
        if isinstance(self.require_approval, tuple):
            return tool in self.require_approval
        return self.require_approval == "always"

    def offers(self, tool: str) -> bool:
        return self.allowed_tools is None or tool in self.allowed_tools


@dataclass(frozen=True)
class McpConfig:
    servers: tuple[ToolServer, ...] = ()
    broken: tuple[tuple[str, str], ...] = ()
    """Servers whose entry cannot be used: (name, the one-line error). The others are used, as
    Claude Desktop does: one server's mistake does not take every tool away."""

    @property
    def enabled(self) -> tuple[ToolServer, ...]:
        return tuple(server for server in self.servers if server.enabled)

    def strict(self) -> McpConfig:
        """This config, or the first broken entry's ``McpConfigError`` (for an editor)."""
        if self.broken:
            raise McpConfigError(self.broken[0][1])
        return self


def read_config_text(path: Path) -> str:
    """The file's text ("" when there is no file yet), or ``McpConfigError``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise McpConfigError(f"{path} cannot be read ({exc})") from None


def load_mcp_config(path: Path, environ: Mapping[str, str] | None = None) -> McpConfig:
    """The tool servers in ``path`` (none when there is no file), or ``McpConfigError``."""
    text = read_config_text(path)
    if not text.strip():
        return McpConfig()
    document = parse_json(text, str(path))
    return parse_mcp_config(document, str(path), os.environ if environ is None else environ)


def parse_json(text: str, where: str) -> object:
    """The JSON in ``text``, or ``McpConfigError`` saying where it is not valid."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise McpConfigError(
            f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def parse_mcp_config(document: object, where: str, environ: Mapping[str, str]) -> McpConfig:
    if not isinstance(document, dict):
        raise McpConfigError(f'{where} must hold a JSON object like {{"mcpServers": {{...}}}}')
    servers = document.get("mcpServers", document.get("servers", {}))
    if not isinstance(servers, dict):
        raise McpConfigError(f'{where}: "mcpServers" must be an object of named servers')
    usable: list[ToolServer] = []
    broken: list[tuple[str, str]] = []
    for name, entry in servers.items():
        try:
            usable.append(_server(name, entry, _Fields(f'{where}: server "{name}"', environ)))
        except McpConfigError as exc:
            broken.append((str(name), str(exc)))
    return McpConfig(tuple(usable), tuple(broken))


class _Fields:
    """Reads one server's fields, naming the server and the field in every error."""

    def __init__(self, where: str, environ: Mapping[str, str]) -> None:
        self.where = where
        self.environ = environ

    def error(self, field_name: str, problem: str) -> McpConfigError:
        return McpConfigError(f'{self.where}: "{field_name}" {problem}')

    def text(self, entry: dict[str, Any], name: str, default: str = "") -> str:
        value = entry.get(name, default)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(name, "must be a string")
        return self.expand(value, name)

    def texts(self, entry: dict[str, Any], name: str) -> tuple[str, ...]:
        values = entry.get(name) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.error(name, "must be a list of strings")
        return tuple(self.expand(value, name) for value in values)

    def mapping(self, entry: dict[str, Any], name: str) -> dict[str, str]:
        values = entry.get(name) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise self.error(name, "must be an object of text values")
        return {key: self.expand(value, f"{name}.{key}") for key, value in values.items()}

    def expand(self, value: str, name: str) -> str:
        def replace(match: re.Match[str]) -> str:
            placeholder = match.group(1)
            if placeholder == "userHome":
                return str(Path.home())
            if placeholder.startswith("env:"):
                variable = placeholder.removeprefix("env:")
                if variable not in self.environ:
                    raise self.error(
                        name,
                        f"uses ${{env:{variable}}}, but {variable} is not set where "
                        "ChatKit Desk runs",
                    )
                return self.environ[variable]
            raise self.error(
                name, f"has ${{{placeholder}}}; only ${{env:NAME}} and ${{userHome}} are known"
            )

        return _PLACEHOLDER.sub(replace, value)


def _server(name: str, entry: object, fields: _Fields) -> ToolServer:
    if not _NAME.fullmatch(name):
        raise McpConfigError(
            f"{fields.where}: a server name is 1-64 letters, digits, '.', '_' or '-'"
        )
    if not isinstance(entry, dict):
        raise McpConfigError(f"{fields.where} must be an object with a command or a url")
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        raise McpConfigError(
            f'{fields.where} needs either "command" (a local server) or "url" (a remote one)'
        )
    common = {
        "enabled": _enabled(entry, fields),
        "allowed_tools": fields.texts(entry, "allowedTools") if "allowedTools" in entry else None,
        "require_approval": _approval(entry, fields),
        "timeout": _timeout(entry, fields),
    }
    if has_command:
        command = fields.text(entry, "command")
        if not command.strip():
            raise fields.error("command", "is empty")
        return ToolServer(
            name,
            "stdio",
            command=command,
            args=fields.texts(entry, "args"),
            env=fields.mapping(entry, "env"),
            cwd=fields.text(entry, "cwd") or None,
            **common,
        )
    url = fields.text(entry, "url")
    if not re.match(r"https?://[^/\s]+", url):
        raise fields.error("url", "must be an http:// or https:// URL")
    return ToolServer(
        name,
        _transport(entry, fields),
        url=url,
        headers=fields.mapping(entry, "headers"),
        **common,
    )


def _enabled(entry: dict[str, Any], fields: _Fields) -> bool:
    for key, meaning in (("enabled", True), ("disabled", False)):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise fields.error(key, "must be true or false")
            return entry[key] is meaning
    return True


def _approval(entry: dict[str, Any], fields: _Fields) -> Approval:
    value = entry.get("requireApproval", "always")
    if value in ("always", "never"):
        return value
    if isinstance(value, list) and all(isinstance(tool, str) for tool in value):
        return tuple(value)
    raise fields.error("requireApproval", 'must be "always", "never" or a list of tool names')


def _timeout(entry: dict[str, Any], fields: _Fields) -> float:
    value = entry.get("timeout", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fields.error("timeout", "must be a number of seconds")
    if not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise fields.error("timeout", f"must be more than 0 and at most {MAX_TIMEOUT_SECONDS:g}")
    return float(value)


def _transport(entry: dict[str, Any], fields: _Fields) -> Transport:
    chosen = entry.get("transport", entry.get("type", "streamable-http"))
    if chosen in ("sse",):
        return "sse"
    if chosen in ("streamable-http", "streamableHttp", "http"):
        return "streamable-http"
    raise fields.error("transport", 'must be "streamable-http" (the default) or "sse"')
