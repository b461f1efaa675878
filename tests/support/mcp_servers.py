"""Running ``tests/support/mcp_server.py``: its ``mcp.json`` entries, HTTP modes and call log."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.desk_process import free_port
from tests.support.waiting import wait_until

SERVER_SCRIPT = Path(__file__).with_name("mcp_server.py")


def stdio_entry(folder: Path, **ours: Any) -> dict[str, Any]:
    """An ``mcp.json`` entry that launches the test server over stdio, as Claude Desktop would."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "command": sys.executable,
        "args": [str(SERVER_SCRIPT), "stdio"],
        "env": {"MCP_TEST_DIR": str(folder)},
        **ours,
    }


def write_mcp_json(path: Path, servers: dict[str, dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}, indent=2), encoding="utf-8")
    return path


def calls(folder: Path) -> list[dict[str, Any]]:
    """Every call the test server(s) writing to ``folder`` really ran, in order."""
    log = folder / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def release(folder: Path, name: str) -> None:
    """Let a ``wait_for(name)`` call finish."""
    (folder / name).write_text("go", encoding="utf-8")


class McpHttpServer:
    """The test server over Streamable HTTP (``http``) or SSE (``sse``) on a loopback port."""

    def __init__(self, folder: Path, transport: str = "http") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.transport = transport
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        path = "/mcp" if self.transport == "http" else "/sse"
        return f"http://127.0.0.1:{self.port}{path}"

    def entry(self, **ours: Any) -> dict[str, Any]:
        extra = {"transport": "sse"} if self.transport == "sse" else {}
        return {"url": self.url, **extra, **ours}

    def __enter__(self) -> McpHttpServer:
        log = (self.folder / f"mcp-{self.transport}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), self.transport, str(self.port)],
            env={"MCP_TEST_DIR": str(self.folder), "PATH": "/usr/bin:/bin"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(self._listening, f"the test MCP server ({self.transport}) to listen")
        return self

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the test MCP server exited with {self.process.returncode}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()
