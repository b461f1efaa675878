"""Editing ``mcp.json`` as a document: one server added, changed or removed, nothing else moved.

The file is shared: people paste it from Claude Desktop, Cursor or LM Studio, and may point
``CHATKIT_DESK_MCP_CONFIG`` at another app's own file. So every edit works on the raw JSON and
keeps what it does not know — other top-level keys (Claude Desktop's ``globalShortcut``), other
apps' keys in a server's entry, the order of the servers — and writes ``${env:NAME}``
placeholders back exactly as they were typed: expanding them would put the secret they keep out
of the file into it. The functions here never change their argument; they return a new document.

Checking a document is ``parse_mcp_config``'s job, so the rules stay in one place
(``backend.tools.config``); ``write_document`` replaces the file atomically, so the server's
watcher (``backend.tools.hub``) never reads half a file.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.tools.config import (
    Approval,
    McpConfig,
    McpConfigError,
    parse_json,
    parse_mcp_config,
    read_config_text,
)

SERVERS_KEY = "mcpServers"
NEW_FILE_MODE = 0o600
"""A server's ``env`` and ``headers`` may hold a secret (better a ``${env:NAME}``, but people
paste what they have), so a new file is the user's alone, as ``jwt-secret`` is."""

Document = dict[str, Any]


@dataclass(frozen=True)
class Merge:
    """What ``merged`` did, to say so: the servers it added and those it replaced."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()


def empty_document() -> Document:
    return {SERVERS_KEY: {}}


def parse_document(text: str, where: str) -> Document:
    """The JSON object in ``text`` (empty text: no servers), or one line saying what is wrong."""
    if not text.strip():
        return empty_document()
    document = parse_json(text, where)
    if not isinstance(document, dict):
        raise McpConfigError(f'{where} must hold a JSON object like {{"mcpServers": {{...}}}}')
    servers_of(document, where)
    return document


def read_document(path: Path) -> Document:
    """The file as it is (no file: no servers yet), or ``McpConfigError``."""
    return parse_document(read_config_text(path), str(path))


def document_text(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def servers_key(document: Mapping[str, Any]) -> str:
    """``mcpServers``, or VS Code's ``servers`` in a file that has only that."""
    if SERVERS_KEY not in document and isinstance(document.get("servers"), dict):
        return "servers"
    return SERVERS_KEY


def servers_of(document: Mapping[str, Any], where: str = "mcp.json") -> dict[str, Any]:
    servers = document.get(servers_key(document), {})
    if not isinstance(servers, dict):
        raise McpConfigError(f'{where}: "mcpServers" must be an object of named servers')
    return servers


def check(
    document: Mapping[str, Any], where: str, environ: Mapping[str, str] | None = None
) -> McpConfig:
    """The servers as the running server would read them, or the one-line ``McpConfigError``."""
    environ = os.environ if environ is None else environ
    return parse_mcp_config(dict(document), where, environ).strict()


def with_server(
    document: Mapping[str, Any], name: str, entry: Mapping[str, Any], replacing: str | None = None
) -> Document:
    """``name`` set to ``entry``; ``replacing`` (a renamed server) is dropped, in its place."""
    result = copy.deepcopy(dict(document))
    key = servers_key(result)
    old = servers_of(result)
    servers: dict[str, Any] = {}
    placed = False
    for existing, value in old.items():
        if existing in (name, replacing):
            if not placed:
                servers[name] = copy.deepcopy(dict(entry))
                placed = True
            continue
        servers[existing] = value
    if not placed:
        servers[name] = copy.deepcopy(dict(entry))
    result[key] = servers
    return result


def without_server(document: Mapping[str, Any], name: str) -> Document:
    result = copy.deepcopy(dict(document))
    servers_of(result).pop(name, None)
    return result


def with_enabled(document: Mapping[str, Any], name: str, enabled: bool) -> Document:
    """``"enabled"`` written; Cline's ``"disabled"``, where the entry has it, kept in step."""
    result = copy.deepcopy(dict(document))
    entry = _entry(result, name)
    entry["enabled"] = enabled
    if "disabled" in entry:
        entry["disabled"] = not enabled
    return result


def with_approval(document: Mapping[str, Any], name: str, approval: Approval) -> Document:
    """``"always"`` is the default, so it is written only where the entry already says one."""
    result = copy.deepcopy(dict(document))
    entry = _entry(result, name)
    if approval == "always" and "requireApproval" not in entry:
        return result
    entry["requireApproval"] = list(approval) if isinstance(approval, tuple) else approval
    return result


def merged(document: Mapping[str, Any], pasted: Mapping[str, Any]) -> tuple[Document, Merge]:
    """``pasted``'s servers added to ``document``, a same-named one replaced; the rest of
    ``document`` as it was. Other top-level keys of ``pasted`` (Claude Desktop's own settings)
    are not ChatKit Desk's, and stay out."""
    result = copy.deepcopy(dict(document))
    added: list[str] = []
    replaced: list[str] = []
    for name, entry in servers_of(pasted, "the pasted text").items():
        (replaced if name in servers_of(result) else added).append(name)
        result = with_server(result, name, entry)
    return result, Merge(tuple(added), tuple(replaced))


def ignored_keys(pasted: Mapping[str, Any]) -> list[str]:
    """The top-level keys of a pasted file that ``merged`` leaves out."""
    return [key for key in pasted if key not in (SERVERS_KEY, "servers")]


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    """Replace ``path`` with ``document`` in one step (a temporary file, then ``os.replace``).

    A symlink is followed (the file may be another app's, linked here): the link stays a
    link. An existing file keeps its permissions; a new one is the user's alone.
    """
    target = path.expanduser()
    if target.is_symlink():
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    temporary = target.with_name(f".{target.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(document_text(document))
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _entry(document: Document, name: str) -> dict[str, Any]:
    entry = servers_of(document).get(name)
    if not isinstance(entry, dict):
        raise McpConfigError(f'mcp.json has no server named "{name}"')
    return entry
