"""mcp.json: what people paste from Claude Desktop, Cursor and LM Studio works as it is; anything
that cannot work is one line naming the server and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.tools.config import (
    DEFAULT_TIMEOUT_SECONDS,
    McpConfig,
    McpConfigError,
    load_mcp_config,
    parse_mcp_config,
)

ENV = {"GITHUB_TOKEN": "ghp-secret-1234", "WORKSPACE": "/srv/work"}


def parse(servers: dict, key: str = "mcpServers") -> McpConfig:
    return parse_mcp_config({key: servers}, "mcp.json", ENV)


def refused(servers: object) -> str:
    with pytest.raises(McpConfigError) as caught:
        parse_mcp_config({"mcpServers": servers}, "mcp.json", ENV).strict()
    return str(caught.value)


def test_a_bad_entry_is_left_out_and_named_while_the_others_are_used() -> None:
    config = parse({"good": {"command": "a"}, "bad": {"command": 5}, "also": {"url": "ftp://x"}})
    assert [server.name for server in config.servers] == ["good"]
    assert [name for name, _ in config.broken] == ["bad", "also"]
    assert config.broken[0][1] == 'mcp.json: server "bad": "command" must be a string'


def test_a_claude_desktop_file_works_as_it_is() -> None:
    claude = {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
        },
        "weather": {"command": "uvx", "args": ["weather-mcp"], "env": {"UNITS": "metric"}},
    }
    config = parse(claude)
    files, weather = config.servers
    assert (files.name, files.transport, files.command) == ("filesystem", "stdio", "npx")
    assert files.args == ("-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop")
    assert weather.env == {"UNITS": "metric"}
    assert files.require_approval == "always", "safe by default"
    assert files.timeout == DEFAULT_TIMEOUT_SECONDS and files.allowed_tools is None


def test_cursor_and_lm_studio_remote_servers_with_env_placeholders() -> None:
    config = parse(
        {
            "github": {
                "url": "https://api.githubcopilot.com/mcp/",
                "headers": {"Authorization": "Bearer ${env:GITHUB_TOKEN}"},
            },
            "legacy": {"url": "http://127.0.0.1:9000/sse", "transport": "sse"},
            "claude-code": {"type": "sse", "url": "http://127.0.0.1:9001/sse"},
        }
    )
    github, legacy, claude_code = config.servers
    assert github.transport == "streamable-http"
    assert github.headers == {"Authorization": "Bearer ghp-secret-1234"}
    assert legacy.transport == claude_code.transport == "sse"


def test_vs_codes_servers_key_and_clines_disabled_are_read() -> None:
    config = parse({"off": {"command": "tool", "disabled": True}}, key="servers")
    assert [server.enabled for server in config.servers] == [False]
    assert config.enabled == ()


def test_our_own_keys() -> None:
    (server,) = parse(
        {
            "db": {
                "command": "db-mcp",
                "enabled": True,
                "allowedTools": ["query", "schema"],
                "requireApproval": ["query"],
                "timeout": 5,
                "cwd": "${env:WORKSPACE}",
            }
        }
    ).servers
    assert server.offers("schema") and not server.offers("drop_table")
    assert server.needs_approval("query") and not server.needs_approval("schema")
    assert server.timeout == 5.0 and server.cwd == "/srv/work"
    (never,) = parse({"x": {"command": "x", "requireApproval": "never"}}).servers
    assert not never.needs_approval("anything")


def test_user_home_is_expanded() -> None:
    (server,) = parse({"files": {"command": "files", "args": ["${userHome}/Documents"]}}).servers
    assert server.args == (f"{Path.home()}/Documents",)


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"args": ["x"]}, 'needs either "command" (a local server) or "url"'),
        ({"command": "x", "url": "http://h"}, 'needs either "command"'),
        ({"command": "x", "args": "-y tool"}, '"args" must be a list of strings'),
        ({"command": "x", "env": {"N": 1}}, '"env" must be an object of text values'),
        ({"command": ""}, '"command" is empty'),
        ({"url": "ftp://host/mcp"}, '"url" must be an http:// or https:// URL'),
        ({"url": "http://h", "transport": "websocket"}, '"transport" must be'),
        ({"command": "x", "requireApproval": "sometimes"}, '"requireApproval" must be'),
        ({"command": "x", "timeout": 0}, '"timeout" must be more than 0'),
        ({"command": "x", "timeout": "60"}, '"timeout" must be a number of seconds'),
        ({"command": "x", "enabled": "yes"}, '"enabled" must be true or false'),
        ({"command": "x", "env": {"T": "${env:MISSING}"}}, "MISSING is not set"),
        ({"command": "x", "args": ["${workspaceFolder}"]}, "only ${env:NAME} and ${userHome}"),
        ("npx -y server", "must be an object with a command or a url"),
    ],
)
def test_a_bad_entry_is_one_line_naming_the_server_and_the_field(entry: object, named: str) -> None:
    message = refused({"broken": entry})
    assert message.startswith('mcp.json: server "broken"'), message
    assert named in message and "\n" not in message


def test_a_bad_server_name_and_a_bad_document_say_so() -> None:
    assert "a server name is 1-64 letters" in refused({"has space": {"command": "x"}})
    with pytest.raises(McpConfigError, match='"mcpServers" must be an object'):
        parse_mcp_config({"mcpServers": []}, "mcp.json", ENV)
    with pytest.raises(McpConfigError, match="must hold a JSON object"):
        parse_mcp_config([], "mcp.json", ENV)


def test_the_file_no_file_an_empty_file_and_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    assert load_mcp_config(path) == McpConfig()
    path.write_text("  \n")
    assert load_mcp_config(path) == McpConfig()
    path.write_text('{"mcpServers": {"a": {"command": "a",}}}')
    with pytest.raises(McpConfigError, match=r"is not valid JSON \(line 1, column"):
        load_mcp_config(path)
    path.write_text(json.dumps({"mcpServers": {"a": {"command": "a"}}}))
    assert [server.name for server in load_mcp_config(path).servers] == ["a"]
