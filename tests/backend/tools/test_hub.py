"""The tool hub with the real test MCP server: connecting, filtering, failing, watching mcp.json."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from backend.tools import hub as hub_module
from backend.tools.hub import ToolHub, ToolUnavailable
from tests.support.mcp_servers import stdio_entry, write_mcp_json

DEADLINE = 60.0


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[ToolHub]:
    write_mcp_json(tmp_path / "mcp.json", {})
    tools = ToolHub(lambda: tmp_path / "mcp.json", tmp_path / "logs")
    tools.start()
    yield tools
    await tools.aclose()


async def until(condition: Callable[[], object], what: str) -> None:
    async with asyncio.timeout(DEADLINE):
        while not condition():  # noqa: ASYNC110 (state another task changes, no event to wait on)
            await asyncio.sleep(0.05)
    assert condition(), what


def states(hub: ToolHub) -> dict[str, str]:
    return {state.name: state.status for state in hub.states()}


async def test_a_local_server_connects_in_the_background_with_its_stderr_in_a_log(
    hub: ToolHub, tmp_path: Path
) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t")})
    await until(lambda: states(hub).get("t") == "connected", "t connects")

    [(server, tools)] = hub.available()
    assert server.name == "t"
    assert {tool.name for tool in tools} >= {"echo", "add", "slow", "fail", "multiline"}
    log = tmp_path / "logs" / "mcp-t.log"
    assert "starting t" in log.read_text() and "test MCP server starting (stdio)" in log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600


async def test_allowed_tools_limit_what_a_turn_may_offer(hub: ToolHub, tmp_path: Path) -> None:
    entry = stdio_entry(tmp_path / "t", allowedTools=["echo", "add"])
    write_mcp_json(tmp_path / "mcp.json", {"t": entry})
    await until(lambda: states(hub).get("t") == "connected", "t connects")

    [(_, tools)] = hub.available()
    assert sorted(tool.name for tool in tools) == ["add", "echo"]


async def test_a_turned_off_server_is_listed_but_not_started(hub: ToolHub, tmp_path: Path) -> None:
    entry = stdio_entry(tmp_path / "t", enabled=False)
    write_mcp_json(tmp_path / "mcp.json", {"t": entry, "u": stdio_entry(tmp_path / "u")})
    await until(lambda: states(hub).get("u") == "connected", "u connects")

    assert states(hub) == {"t": "disabled", "u": "connected"}
    assert [server.name for server, _ in hub.available()] == ["u"]
    assert not (tmp_path / "logs" / "mcp-t.log").exists()


async def test_a_command_that_is_not_installed_is_unavailable_with_why(
    hub: ToolHub, tmp_path: Path
) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"gone": {"command": "no-such-mcp-server-xyz"}})
    await until(lambda: states(hub).get("gone") == "failed", "gone fails")

    [state] = hub.unavailable()
    assert "'no-such-mcp-server-xyz' was not found" in state.describe()
    assert "trying again in" in state.describe()


async def test_a_bad_file_keeps_the_servers_of_the_last_good_one(
    hub: ToolHub, tmp_path: Path
) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t")})
    await until(lambda: states(hub).get("t") == "connected", "t connects")

    broken = {**stdio_entry(tmp_path / "t"), "timeout": -1}
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": {"t": broken}}))
    await until(lambda: hub.config_error is not None, "the error is noticed")

    assert "t" in hub.config_error and "timeout" in hub.config_error
    assert states(hub) == {"t": "connected"}
    write_mcp_json(tmp_path / "mcp.json", {})
    await until(lambda: hub.config_error is None and not states(hub), "the fix is applied")


async def test_a_local_server_that_exits_is_reconnected(hub: ToolHub, tmp_path: Path) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t")})
    await until(lambda: states(hub).get("t") == "connected", "t connects")
    [pid] = _pids_of_t(tmp_path)

    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ToolUnavailable, match="stopped"):
        await hub.call("t", "echo", {"text": "anyone?"})

    await until(lambda: states(hub).get("t") == "connected", "t is back")
    answer = await hub.call("t", "echo", {"text": "back"})
    assert answer.content[0].text == "back"
    assert (tmp_path / "logs" / "mcp-t.log").read_text().count("starting t") == 2


def _pids_of_t(folder: Path) -> list[int]:
    return [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/environ") if _is_t(p, folder)]


def _is_t(environ_file: Path, folder: Path) -> bool:
    """Whether this process is the test server ``t`` (found by the folder in its environment)."""
    try:
        environ = environ_file.read_bytes()
    except OSError:
        return False
    return f"MCP_TEST_DIR={folder / 't'}".encode() in environ


async def test_a_turn_waits_a_little_for_servers_still_starting(
    hub: ToolHub, tmp_path: Path
) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t")})
    await until(lambda: "t" in states(hub), "t is configured")

    await hub.wait_started(DEADLINE)

    assert states(hub) == {"t": "connected"}
    await hub.wait_started(0)  # nothing left to wait for: returns at once


async def test_tools_in_use_are_named_while_they_run(hub: ToolHub) -> None:
    with hub.in_use("t › slow"), hub.in_use("t › slow"), hub.in_use("u › echo"):
        assert hub.running() == ["t › slow", "u › echo"]
    assert hub.running() == []


async def test_a_changed_list_of_tools_is_seen_at_the_next_check(
    hub: ToolHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "PING_INTERVAL_SECONDS", 0.2)
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t")})
    await until(lambda: states(hub).get("t") == "connected", "t connects")

    await hub.call("t", "grow", {"name": "sprout"})

    await until(lambda: "sprout" in tool_names(hub), "the new tool to be listed")
    answer = await hub.call("t", "sprout", {})
    assert answer.content[0].text == "sprout"


def tool_names(hub: ToolHub) -> set[str]:
    return {tool.name for _, tools in hub.available() for tool in tools}


async def test_a_server_removed_while_it_still_starts_is_stopped_at_once(
    hub: ToolHub, tmp_path: Path
) -> None:
    """A first ``npx -y`` may take half a minute: removing it meanwhile must not wait for it."""
    marker = f"sleep 600 # {tmp_path.name}"
    write_mcp_json(tmp_path / "mcp.json", {"late": {"command": "sh", "args": ["-c", marker]}})
    await until(lambda: _processes_running(marker), "late's process to start")
    assert states(hub)["late"] == "connecting"

    write_mcp_json(tmp_path / "mcp.json", {})
    await until(lambda: "late" not in states(hub), "late is removed")

    async with asyncio.timeout(DEADLINE / 2):  # not the 30 s connection timeout
        await hub.aclose()
    assert not _processes_running(marker), "its process was ended"


def _processes_running(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # it ended meanwhile
    return found


async def test_a_new_approval_policy_applies_without_a_reconnection(
    hub: ToolHub, tmp_path: Path
) -> None:
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t")})
    await until(lambda: states(hub).get("t") == "connected", "t connects")

    entry = stdio_entry(tmp_path / "t", requireApproval="never", timeout=5)
    write_mcp_json(tmp_path / "mcp.json", {"t": entry})
    await until(lambda: hub.config.servers[0].require_approval == "never", "the file is read")

    [(server, _)] = hub.available()
    assert server.require_approval == "never" and server.timeout == 5
    assert (tmp_path / "logs" / "mcp-t.log").read_text().count("starting t") == 1


async def test_one_broken_entry_leaves_the_other_servers_working(
    hub: ToolHub, tmp_path: Path
) -> None:
    """As in Claude Desktop: a mistake in one server's entry does not take every tool away."""
    broken = {"command": "npx", "env": {"TOKEN": "${env:NOT_SET_ANYWHERE_42}"}}
    write_mcp_json(tmp_path / "mcp.json", {"t": stdio_entry(tmp_path / "t"), "bad": broken})

    await until(lambda: states(hub).get("t") == "connected", "t connects")

    assert states(hub)["bad"] == "failed"
    assert hub.config_error is not None and '"bad"' in hub.config_error
    assert "NOT_SET_ANYWHERE_42" in hub.config_error
