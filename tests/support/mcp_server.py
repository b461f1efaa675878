"""A real MCP server for the tests, written with the ``mcp`` package.

Run it as ``python tests/support/mcp_server.py stdio`` (a local server, as ``mcp.json``
launches it), ``… http PORT`` (Streamable HTTP at ``/mcp``) or ``… sse PORT`` (the older SSE
transport at ``/sse``). Its tools:

- ``echo(text)``: the text back;
- ``add(a, b)``: the sum;
- ``slow(seconds)``: waits, then says how long (for timeouts);
- ``fail(message)``: raises, so the call is an error with that message;
- ``multiline(lines)``: long multi-line text;
- ``environment()``: the names of the environment variables it was started with;
- ``wait_for(name)``: waits until the file ``name`` exists in ``MCP_TEST_DIR`` (a test holds a
  call open on a condition, never a timer);
- ``grow(name)``: adds a tool of that name (its list of tools changes while connected).

Every call is appended as one JSON line to ``$MCP_TEST_DIR/calls.jsonl``, so a test can count
how often a tool really ran. ``MCP_TEST_NAME`` renames the server (several in one file).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer(os.environ.get("MCP_TEST_NAME", "test-tools"))


def _record(tool: str, **arguments: object) -> None:
    folder = os.environ.get("MCP_TEST_DIR")
    if folder:
        with open(Path(folder, "calls.jsonl"), "a", encoding="utf-8") as calls:
            calls.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def echo(text: str) -> str:
    """Say the text back, unchanged."""
    _record("echo", text=text)
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    _record("add", a=a, b=b)
    return a + b


@server.tool()
async def slow(seconds: float) -> str:
    """Wait this many seconds, then answer."""
    _record("slow", seconds=seconds)
    await asyncio.sleep(seconds)
    return f"waited {seconds} s"


@server.tool()
def fail(message: str) -> str:
    """Always fails with the given message."""
    _record("fail", message=message)
    raise ToolError(message)  # other exceptions reach the client as "Error executing tool"


@server.tool()
def multiline(lines: int) -> str:
    """Long text: this many numbered lines."""
    _record("multiline", lines=lines)
    return "\n".join(f"line {n}: {'lorem ipsum ' * 8}".rstrip() for n in range(1, lines + 1))


@server.tool()
def environment() -> str:
    """The names of the environment variables this server was started with."""
    _record("environment")
    return " ".join(sorted(os.environ))


@server.tool()
async def wait_for(name: str) -> str:
    """Answer once the file NAME exists in the test's folder."""
    _record("wait_for", name=name)
    marker = Path(os.environ["MCP_TEST_DIR"], name)
    while not await asyncio.to_thread(marker.exists):  # noqa: ASYNC110 (another process writes it)
        await asyncio.sleep(0.05)
    return f"{name} is there"


@server.tool()
def grow(name: str) -> str:
    """Add a tool called NAME, which answers its own name."""
    _record("grow", name=name)
    server.add_tool(lambda: name, name=name, description=f"The tool {name}, added later")
    return f"added {name}"


def main(argv: list[str]) -> None:
    transport = argv[0] if argv else "stdio"
    print(f"test MCP server starting ({transport})", file=sys.stderr, flush=True)
    if transport == "stdio":
        server.run("stdio")
    elif transport == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(argv[1]))
    elif transport == "sse":
        server.run("sse", host="127.0.0.1", port=int(argv[1]))
    else:
        sys.exit(f"unknown transport {transport!r}: stdio, http PORT or sse PORT")


if __name__ == "__main__":
    main(sys.argv[1:])
