"""What a tool call costs on top of the tool itself, beside the floor of a bare MCP call.

A ChatKit Desk server with the tests' MCP server (``tests/support/mcp_server.py``, over stdio,
no approval) is asked to call a tool; the client notes when the call's task appears in the
stream (the model's call has reached the server) and when it completes (the result is back).
That round trip, less the tool's own time, is what ChatKit Desk adds: the Agents SDK's function
tool, the hub, the MCP session and the workflow events. The floor is the same call made
directly with the ``mcp`` client to the same server, in the same run.

``python3 scripts/bench.py`` runs it after the relay figures; alone:
``python -m bench.tool_round_trip`` (starts its own fake provider).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import jwt
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

if TYPE_CHECKING:
    from bench.run import Processes

ROOT = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = ROOT / "tests" / "support" / "mcp_server.py"
SLOW_SECONDS = 0.05
"""The ``slow`` tool's own time: long enough to see, short enough for many rounds."""


@dataclass
class ToolFigures:
    echo_round_trip_ms: list[float] = field(default_factory=list)
    slow_round_trip_ms: list[float] = field(default_factory=list)
    direct_echo_ms: list[float] = field(default_factory=list)
    direct_slow_ms: list[float] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    """Whole turns with one echo call: two model requests, one call."""
    errors: int = 0


def mcp_json(folder: Path) -> Path:
    entry = {
        "command": sys.executable,
        "args": [str(SERVER_SCRIPT), "stdio"],
        "env": {"MCP_TEST_DIR": str(folder)},
        "requireApproval": "never",
    }
    path = folder / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"t": entry}}))
    return path


def wait_connected(base_url: str, headers: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{base_url}/api/tools", headers=headers, timeout=10).json()
        if [s["status"] for s in answer["servers"]] == ["connected"]:
            return
        time.sleep(0.1)
    raise RuntimeError("the bench's tool server did not connect")


def call_round_trip(base_url: str, headers: dict[str, str], marker: str) -> tuple[float, float]:
    """One turn that calls one tool: (task added → task complete, whole turn), in ms."""
    body = {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": marker}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
    added = completed = None
    started = time.perf_counter()
    with httpx.stream(
        "POST", f"{base_url}/chatkit", json=body, headers=headers, timeout=60
    ) as answer:
        for line in answer.iter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            update = event.get("update") or {}
            if update.get("type") == "workflow.task.added" and added is None:
                added = time.perf_counter()
            elif (
                update.get("type") == "workflow.task.updated"
                and update["task"].get("status_indicator") == "complete"
            ):
                completed = time.perf_counter()
            elif event.get("type") == "error":
                raise RuntimeError(event.get("message"))
    ended = time.perf_counter()
    if added is None or completed is None:
        raise RuntimeError("the turn showed no completed tool call")
    return (completed - added) * 1000, (ended - started) * 1000


async def direct_calls(folder: Path, rounds: int) -> tuple[list[float], list[float]]:
    """The floor: the same tools called with the ``mcp`` client, over stdio, one at a time."""
    parameters = StdioServerParameters(
        command=sys.executable,
        args=[str(SERVER_SCRIPT), "stdio"],
        env={"MCP_TEST_DIR": str(folder)},
    )
    echo, slow = [], []
    quiet = open(os.devnull, "w")  # noqa: ASYNC230 (the server's start-up line; closed below)
    async with (
        stdio_client(parameters, errlog=quiet) as streams,
        ClientSession(*streams) as session,
    ):
        await session.initialize()
        await session.list_tools()
        for _ in range(rounds):
            started = time.perf_counter()
            await session.call_tool("echo", {"text": "floor"})
            echo.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await session.call_tool("slow", {"seconds": SLOW_SECONDS})
            slow.append((time.perf_counter() - started) * 1000)
    quiet.close()
    return echo, slow


def measure(base_url: str, headers: dict[str, str], folder: Path, rounds: int) -> ToolFigures:
    figures = ToolFigures()
    wait_connected(base_url, headers)
    for index in range(rounds + 2):  # the first two warm the path up and are not counted
        try:
            echo, turn = call_round_trip(
                base_url, headers, f'[tool:t__echo {{"text": "bench {index}"}}]'
            )
            slow, _ = call_round_trip(
                base_url, headers, f'[tool:t__slow {{"seconds": {SLOW_SECONDS}}}]'
            )
        except (RuntimeError, httpx.HTTPError):
            figures.errors += 1
            continue
        if index >= 2:
            figures.echo_round_trip_ms.append(echo)
            figures.slow_round_trip_ms.append(slow)
            figures.turn_ms.append(turn)
    figures.direct_echo_ms, figures.direct_slow_ms = asyncio.run(direct_calls(folder, rounds))
    return figures


def report(figures: ToolFigures) -> list[str]:
    if not figures.echo_round_trip_ms:
        return [f"tool round trip: not measured ({figures.errors} turns failed)"]
    med = statistics.median
    own = SLOW_SECONDS * 1000
    echo, slow = med(figures.echo_round_trip_ms), med(figures.slow_round_trip_ms)
    direct_echo, direct_slow = med(figures.direct_echo_ms), med(figures.direct_slow_ms)
    return [
        f"tool round trip, as the client sees it (task shown → result shown), median of "
        f"{len(figures.echo_round_trip_ms)} turns, {figures.errors} failed:",
        f"  echo (own time ~0): {echo:.1f} ms; the same call with the bare mcp client "
        f"{direct_echo:.1f} ms: ChatKit Desk adds {echo - direct_echo:+.1f} ms",
        f"  slow ({own:.0f} ms own time): {slow:.1f} ms = own time {slow - own:+.1f} ms; bare mcp "
        f"client {direct_slow:.1f} ms = own time {direct_slow - own:+.1f} ms",
        f"  a whole turn with one call (two model requests): {med(figures.turn_ms):.1f} ms",
    ]


def run(procs: Processes, upstream: str, folder: Path, rounds: int) -> ToolFigures:
    """Start a server of this tree with one tool server (OpenAI path) and measure it."""
    from bench.run import SECRET, desk_env, free_port, wait_healthy

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = desk_env(folder / "data", upstream, "openai", port)
    env["CHATKIT_DESK_MCP_CONFIG"] = str(mcp_json(folder))
    procs.start([sys.executable, "-m", "backend", "serve"], env)
    wait_healthy(port)
    now = int(time.time())
    token = jwt.encode({"sub": "bench", "iat": now, "exp": now + 86400}, SECRET, "HS256")
    return measure(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}, folder, rounds)


def main() -> None:
    """Standalone: a fake provider and one server of this tree, then the figures."""
    from bench.run import Processes, free_port, wait_for_port

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    procs = Processes()
    try:
        fake_port = free_port()
        procs.start([sys.executable, "-m", "tests.support.fake_upstream", str(fake_port)])
        wait_for_port(fake_port)
        figures = run(procs, f"http://127.0.0.1:{fake_port}/v1", procs.tmp, rounds)
    finally:
        procs.stop_all()
    print("\n".join(report(figures)))


if __name__ == "__main__":
    main()
