"""The tool servers' tools as the model sees them: one function per tool, ``server__tool``.

Each call goes through the hub to the server's session, bounded by the server's ``timeout``;
whatever happens — a result, the tool's own error, a timeout, a server that is gone — the model
gets text it can act on, and the turn's ``ToolCalls`` (a context variable, like the stream's
ending) records how each call went for the chat's workflow item. A tool that the configuration
says needs approval pauses the run before it is called (the Agents SDK's approvals).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Container
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from agents import FunctionTool
from agents.tool_context import ToolContext
from mcp import MCPError
from mcp_types import CallToolResult, EmbeddedResource, ImageContent, TextContent, Tool

from backend.tools.config import ToolServer
from backend.tools.hub import ToolHub, ToolUnavailable

MAX_OUTPUT_CHARS = 100_000
"""What the model is given of one tool's output at most (a runaway tool must not fill it)."""
_NAME_LIMIT = 64  # OpenAI's limit for a function name; Gemini's is the same
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class ToolCallRecord:
    server: str
    tool: str
    arguments: str
    started: float = field(default_factory=time.monotonic)
    ok: bool | None = None
    """``None`` while it runs; ``False`` for an error, a timeout or a server that is gone."""
    output: str = ""
    seconds: float = 0.0


@dataclass
class ToolCalls:
    """The tool calls of one turn, by the model's call id."""

    by_call_id: dict[str, ToolCallRecord] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Function name → (server, tool), for the calls the model makes."""
    longest_timeout: float = 0.0
    """The longest a call of this turn may take: the provider is not waited for meanwhile."""


current_tool_calls: ContextVar[ToolCalls | None] = ContextVar("current_tool_calls", default=None)


def public_name(server: str, tool: str, taken: Container[str] = ()) -> str:
    """The function name the model sees: ``server__tool``, safe and at most 64 characters.

    Made safe, two names can become one (``a.b`` and ``a_b``): two functions of one name make
    the provider refuse every request, so a name already ``taken`` gets a digest of the
    original instead.
    """
    original = f"{server}__{tool}"
    name = _UNSAFE.sub("_", original)
    if len(name) <= _NAME_LIMIT and name not in taken:
        return name
    digest = hashlib.sha1(original.encode()).hexdigest()[:8]
    return f"{name[: _NAME_LIMIT - 9]}_{digest}"


def function_tools(
    hub: ToolHub, available: list[tuple[ToolServer, tuple[Tool, ...]]], calls: ToolCalls
) -> list[FunctionTool]:
    """The functions for a turn; ``calls`` learns which server's tool each name is."""
    functions: list[FunctionTool] = []
    for server, tools in available:
        if tools:
            calls.longest_timeout = max(calls.longest_timeout, server.timeout)
        for tool in tools:
            name = public_name(server.name, tool.name, calls.names.keys())
            calls.names[name] = (server.name, tool.name)
            functions.append(
                FunctionTool(
                    name=name,
                    description=tool.description or tool.title or tool.name,
                    params_json_schema=_schema(tool),
                    on_invoke_tool=_invoker(hub, server, tool.name),
                    strict_json_schema=False,  # servers' schemas are not strict (Gemini neither)
                    needs_approval=server.needs_approval(tool.name),
                )
            )
    return functions


def _schema(tool: Tool) -> dict[str, Any]:
    schema = json.loads(json.dumps(tool.input_schema))  # a copy the SDK may not alter ours by
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def _invoker(hub: ToolHub, server: ToolServer, tool: str) -> Any:
    async def invoke(context: ToolContext[Any], arguments: str) -> str:
        record = ToolCallRecord(server.name, tool, arguments)
        calls = current_tool_calls.get()
        if calls is not None:
            calls.by_call_id[context.tool_call_id] = record
        with hub.in_use(f"{server.name} › {tool}"):
            record.ok, record.output = await _call(hub, server, tool, arguments)
        record.seconds = time.monotonic() - record.started
        return record.output

    return invoke


async def _call(hub: ToolHub, server: ToolServer, tool: str, arguments: str) -> tuple[bool, str]:
    label = f"{server.name} › {tool}"
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return False, f"The arguments for {label} are not valid JSON ({exc.msg}); nothing was run."
    if not isinstance(parsed, dict):
        return False, f"The arguments for {label} must be a JSON object; nothing was run."
    try:
        async with asyncio.timeout(server.timeout):
            result = await hub.call(server.name, tool, parsed)
    except TimeoutError:
        return False, f"{label} did not answer within {server.timeout:g} seconds."
    except ToolUnavailable as exc:
        return False, f"{label} could not be run: {exc}."
    except MCPError as exc:
        return False, f"{label} failed: {exc}"
    except Exception as exc:  # a broken server must not break the turn: the model is told
        return False, f"{label} failed ({type(exc).__name__}: {exc})"
    text = result_text(result)
    if result.is_error:
        return False, f"{label} reported an error: {text}"
    return True, text


def result_text(result: CallToolResult) -> str:
    """What the model reads of a tool's result: its text, with other content named."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            parts.append(f"[an image ({block.mime_type})]")
        elif isinstance(block, EmbeddedResource) and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')}]")
    text = "\n".join(parts)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    if len(text) > MAX_OUTPUT_CHARS:
        cut = len(text) - MAX_OUTPUT_CHARS
        text = f"{text[:MAX_OUTPUT_CHARS]}\n… ({cut} more characters were cut)"
    return text or "(no output)"
