"""The tool servers' connections: made at start-up, kept for the server's life, reconnected.

The server owns its MCP connections (as Claude Desktop does): each configured server gets a task
that connects it (in the background: ``/health`` never waits for a tool server), lists its tools,
keeps the session, lists them again every 30 s (which proves it still answers, and picks up a
changed list without a round trip per turn), and reconnects with backoff when it dies. The
task that opens a session also closes it, as anyio's transports require. ``mcp.json`` is watched
while the server runs: a server that was added, changed or removed is connected, reconnected or
closed without a restart; a file that becomes invalid keeps the last good servers and says why.

A turn takes what is connected at that moment (``available``) and names what is not
(``unavailable``), so a server that failed never breaks a chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, Tool

from backend.tools.config import McpConfig, McpConfigError, ToolServer, load_mcp_config
from backend.tools.launch import CommandNotFound, resolve_command, search_path, tool_environment

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 30.0
"""Starting a server (``npx`` may download it first) and listing its tools."""
PING_INTERVAL_SECONDS = 30.0
PING_TIMEOUT_SECONDS = 10.0
RECONNECT_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
WATCH_SECONDS = 2.0
"""How often ``mcp.json`` is checked for changes (a ``stat``)."""
STDERR_LOG_BYTES = 1_000_000
"""A server's stderr log is started afresh (the old one kept as ``.1``) past this size."""

Status = Literal["disabled", "connecting", "connected", "failed"]
_BROKEN = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)


@dataclass(frozen=True)
class ServerState:
    name: str
    status: Status
    tools: tuple[Tool, ...] = ()
    error: str | None = None

    def describe(self) -> str:
        """One line for a person: connected with N tools, or why not."""
        match self.status:
            case "connected":
                count = len(self.tools)
                return f"connected, {count} tool{'s' if count != 1 else ''}"
            case "connecting":
                return "starting"
            case "disabled":
                return "turned off"
        return f"unavailable: {self.error}"


class ToolUnavailable(Exception):
    """The tool's server is not connected; the message says why."""


class _Connection:
    """One tool server's session, owned by one task from connect to close."""

    def __init__(self, server: ToolServer, log_dir: Path, *, reconnect: bool = True) -> None:
        self.server = server
        self._reconnect = reconnect
        self.state = ServerState(server.name, "connecting")
        self._log_dir = log_dir
        self._session: ClientSession | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._broken: str | None = None
        self.settled = asyncio.Event()
        """Set once an attempt to connect has ended, connected or failed."""
        self.started = asyncio.Event()
        """Set once the first attempt has ended, and never cleared."""
        self.task = asyncio.create_task(self._run(), name=f"tool-server-{server.name}")

    def stop(self) -> None:
        """Close the session; a connection still being made (``npx`` may take its time) or
        waiting to retry is cancelled at once, its process ended with it."""
        self._stopping = True
        self._wake.set()
        if self._session is None and not self.task.done():
            self.task.cancel()

    def broken(self, reason: str) -> None:
        """A call found the connection dead: reconnect now rather than at the next ping."""
        self._broken = reason
        self._session = None
        self.state = ServerState(self.server.name, "connecting")
        self._wake.set()

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        session = self._session
        if session is None:
            raise ToolUnavailable(self.state.describe())
        try:
            return await session.call_tool(tool, arguments)
        except (*_BROKEN, MCPError) as exc:
            if isinstance(exc, MCPError) and not _closed(exc):
                raise
            self.broken("the connection was lost during a call")
            raise ToolUnavailable(f"the tool server “{self.server.name}” stopped") from None

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            self.state = ServerState(self.server.name, "connecting")
            self.settled.clear()
            self._broken = None
            try:
                async with AsyncExitStack() as stack:
                    async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                        session = await self._open(stack)
                        tools = await _all_tools(session)
                    self._session = session
                    self.state = ServerState(self.server.name, "connected", tools)
                    self.settled.set()
                    self.started.set()
                    log.info("tool server %s: %s", self.server.name, self.state.describe())
                    attempt = 0
                    reason = await self._keep(session)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # anyio reports a transport's failure as a group
                reason = _explain(exc)
                if self.server.transport == "stdio" and not isinstance(exc, CommandNotFound):
                    reason += f" (its output: {_stderr_path(self._log_dir, self.server.name)})"
            finally:
                self._session = None
            if self._stopping:
                return
            if not self._reconnect:
                self.state = ServerState(self.server.name, "failed", error=reason)
                self.settled.set()
                self.started.set()
                return
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            attempt += 1
            self.state = ServerState(
                self.server.name, "failed", error=f"{reason}; trying again in {delay:g} s"
            )
            self.settled.set()
            self.started.set()
            log.warning("tool server %s unavailable: %s", self.server.name, self.state.error)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _open(self, stack: AsyncExitStack) -> ClientSession:
        server = self.server
        if server.transport == "stdio":
            path = search_path()
            command = resolve_command(server.command, path, server.cwd)
            parameters = StdioServerParameters(
                command=command,
                args=list(server.args),
                env=tool_environment(server.env, path),
                cwd=server.cwd,
            )
            errlog = stack.enter_context(_stderr_log(self._log_dir, server.name))
            streams = await stack.enter_async_context(stdio_client(parameters, errlog=errlog))
        elif server.transport == "sse":
            streams = await stack.enter_async_context(
                sse_client(
                    server.url, headers=dict(server.headers), timeout=CONNECT_TIMEOUT_SECONDS
                )
            )
        else:
            client = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=dict(server.headers),
                    timeout=httpx2.Timeout(CONNECT_TIMEOUT_SECONDS, read=None),
                )
            )
            streams = await stack.enter_async_context(
                streamable_http_client(server.url, http_client=client)
            )
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        await session.initialize()
        return session

    async def _keep(self, session: ClientSession) -> str:
        """Hold the session until asked to stop (returns ``""``) or it breaks (the reason)."""
        while True:
            if self._stopping:
                return ""
            if self._broken is not None:
                return self._broken
            self._wake.clear()
            try:
                async with asyncio.timeout(PING_INTERVAL_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                try:  # listing the tools proves it answers, and picks up a changed list
                    async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                        tools = await _all_tools(session)
                except (TimeoutError, MCPError, *_BROKEN):
                    return "it stopped answering"
                if tools != self.state.tools:
                    self.state = ServerState(self.server.name, "connected", tools)
                    log.info(
                        "tool server %s: %s (changed)", self.server.name, self.state.describe()
                    )
                continue


async def _all_tools(session: ClientSession) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tuple(tools)


def _explain(exc: BaseException) -> str:
    """Why a server could not be used, in a line (the first real cause in a group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, CommandNotFound):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"it did not start within {CONNECT_TIMEOUT_SECONDS:g} seconds"
    if isinstance(exc, _BROKEN) or (isinstance(exc, MCPError) and _closed(exc)):
        return "it exited or closed the connection"
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"it answered HTTP {exc.response.status_code}"
    if isinstance(exc, httpx2.TransportError):
        return f"it cannot be reached ({type(exc).__name__})"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _closed(error: MCPError) -> bool:
    """The session's transport ended (the server exited or went away), not a tool's error."""
    return "closed" in str(error).lower()


def _stderr_path(log_dir: Path, name: str) -> Path:
    return log_dir / f"mcp-{name}.log"


@contextlib.contextmanager
def _stderr_log(log_dir: Path, name: str) -> Any:
    """The file a local server's stderr goes to: ``logs/mcp-NAME.log`` in the data dir, moved
    to ``.log.1`` when it has passed ``STDERR_LOG_BYTES`` as the server (re)starts (the server
    writes to it directly, so it is not cut while it runs)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = _stderr_path(log_dir, name)
    with contextlib.suppress(OSError):
        if path.stat().st_size > STDERR_LOG_BYTES:
            os.replace(path, path.with_suffix(".log.1"))
    path.touch(mode=0o600)  # a server may print what it was given: for the user's eyes only
    with path.open("a", encoding="utf-8") as errlog:
        errlog.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n")
        errlog.flush()
        yield errlog


@dataclass
class _Watched:
    stamp: tuple[str, int, int] | None = None
    config: McpConfig = field(default_factory=McpConfig)
    error: str | None = None


class ToolHub:
    """Every configured tool server, connected in the background; what a turn may use."""

    def __init__(self, config_file: Callable[[], Path], log_dir: Path) -> None:
        self._config_file = config_file
        self._log_dir = log_dir
        self._connections: dict[str, _Connection] = {}
        self._closing: set[asyncio.Task[None]] = set()
        """Tasks of connections that are closing: held, or asyncio could collect them."""
        self._watched = _Watched()
        self._watch_task: asyncio.Task[None] | None = None
        self._running: Counter[str] = Counter()

    def start(self) -> None:
        """Read ``mcp.json`` and connect its servers, in the background (call on the loop)."""
        self._reconcile()
        self._watch_task = asyncio.create_task(self._watch(), name="tool-servers-watch")

    async def aclose(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
        await self._stop(list(self._connections))

    @property
    def config(self) -> McpConfig:
        return self._watched.config

    @property
    def config_error(self) -> str | None:
        """Why ``mcp.json``, or an entry of it, cannot be used as it is now: those servers stay
        as they were (a whole file that cannot be read: all of them)."""
        return self._watched.error

    def states(self) -> list[ServerState]:
        """Every configured server, in the file's order: connected, starting, failed or off."""
        states = []
        for server in self.config.servers:
            connection = self._connections.get(server.name)
            if not server.enabled:
                states.append(ServerState(server.name, "disabled"))
            elif connection is not None:
                states.append(connection.state)
        for name, error in self.config.broken:
            connection = self._connections.get(name)
            states.append(
                connection.state if connection else ServerState(name, "failed", (), error)
            )
        return states

    def available(self) -> list[tuple[ToolServer, tuple[Tool, ...]]]:
        """The connected servers and the tools of theirs a turn may offer the model."""
        return [
            (c.server, tuple(t for t in c.state.tools if c.server.offers(t.name)))
            for c in self._connections.values()
            if c.state.status == "connected"
        ]

    async def wait_started(self, seconds: float) -> None:
        """Wait (at most ``seconds``) for servers still on their first connection attempt.

        The first message after start-up then has the tools a moment later rather than never;
        a server that takes longer is reported unavailable for that turn, as starting.
        """
        waiting = [c.started.wait() for c in self._connections.values() if not c.started.is_set()]
        if waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await asyncio.gather(*waiting)

    def unavailable(self) -> list[ServerState]:
        """The enabled servers a turn cannot use right now, with why."""
        return [c.state for c in self._connections.values() if c.state.status != "connected"]

    @contextlib.contextmanager
    def in_use(self, label: str) -> Iterator[None]:
        """While a call runs: what the tray says is in use."""
        self._running[label] += 1
        try:
            yield
        finally:
            self._running[label] -= 1
            if not self._running[label]:
                del self._running[label]

    def running(self) -> list[str]:
        """The tools being called right now, as ``server › tool``."""
        return sorted(self._running)

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        connection = self._connections.get(server)
        if connection is None:
            raise ToolUnavailable(f"the tool server “{server}” is no longer configured")
        return await connection.call(tool, arguments)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                self._reconcile()
            except Exception:  # never let the watch die: the next change is tried again
                log.exception("applying a change of the tool servers failed")

    def _reconcile(self) -> None:
        """Bring the connections in line with ``mcp.json`` if it changed."""
        path = self._config_file()
        stamp = _stamp(path)
        if stamp == self._watched.stamp:
            return
        self._watched.stamp = stamp
        try:
            config = load_mcp_config(path)
        except McpConfigError as exc:
            self._watched.error = str(exc)
            log.warning("%s; the tool servers stay as they were", exc)
            return
        self._watched.config = config
        self._watched.error = "; ".join(error for _, error in config.broken) or None
        if config.broken:
            log.warning("%s; the other tool servers are used", self._watched.error)
        broken = {name for name, _ in config.broken}  # as they were until the entry is fixed
        wanted = {server.name: server for server in config.enabled}
        outdated = [
            name
            for name, connection in self._connections.items()
            if name not in broken
            and (name not in wanted or _launch(wanted[name]) != _launch(connection.server))
        ]
        for name in outdated:
            self._close(self._connections.pop(name))
        for name, server in wanted.items():
            if name not in self._connections:
                self._connections[name] = _Connection(server, self._log_dir)
            else:  # the same process or URL: a new policy applies without a reconnection
                self._connections[name].server = server

    def _close(self, connection: _Connection) -> None:
        connection.stop()
        self._closing.add(connection.task)
        connection.task.add_done_callback(self._closing.discard)

    async def _stop(self, names: list[str]) -> None:
        for name in names:
            self._close(self._connections.pop(name))
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=CONNECT_TIMEOUT_SECONDS)


def _launch(server: ToolServer) -> tuple[object, ...]:
    """What starts or reaches a server: a change here needs a new connection; a change of
    approvals, allowed tools or timeout does not."""
    return (
        server.transport,
        server.command,
        server.args,
        tuple(sorted(server.env.items())),
        server.cwd,
        server.url,
        tuple(sorted(server.headers.items())),
    )


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return str(path), status.st_mtime_ns, status.st_size


async def check(server: ToolServer, log_dir: Path) -> ServerState:
    """Connect to ``server`` once, list its tools and close (Settings' "Connect and list")."""
    connection = _Connection(server, log_dir, reconnect=False)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS + 5):
            await connection.settled.wait()
    state = connection.state
    connection.stop()
    await asyncio.wait([connection.task], timeout=CONNECT_TIMEOUT_SECONDS)
    return state
