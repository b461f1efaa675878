"""Editing mcp.json: one server changes, everything else (other apps' keys, placeholders, the
order of the servers) stays exactly as it was, and the file is replaced in one step."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from backend.tools import config_file
from backend.tools.config import McpConfigError, load_mcp_config

CLAUDE_DESKTOP = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_TOKEN}"},
            "autoApprove": ["search_repositories"],
        },
        "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
    },
}


def test_an_edit_keeps_what_it_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    config_file.write_document(path, CLAUDE_DESKTOP)
    document = config_file.read_document(path)
    document = config_file.with_enabled(document, "github", False)
    document = config_file.with_approval(document, "github", ("create_issue",))
    document = config_file.with_server(document, "time", {"url": "http://127.0.0.1:9/mcp"})
    config_file.write_document(path, document)

    written = json.loads(path.read_text())
    assert written["globalShortcut"] == "Ctrl+Space"
    assert list(written["mcpServers"]) == ["github", "fetch", "time"]
    assert written["mcpServers"]["github"] == {
        **CLAUDE_DESKTOP["mcpServers"]["github"],
        "enabled": False,
        "requireApproval": ["create_issue"],
    }
    assert "${env:GITHUB_TOKEN}" in path.read_text(), "the placeholder is never expanded"
    assert CLAUDE_DESKTOP["mcpServers"]["github"].get("enabled") is None, "argument untouched"


def test_a_renamed_server_keeps_its_place_and_a_removed_one_goes(tmp_path: Path) -> None:
    document = config_file.with_server(
        CLAUDE_DESKTOP, "gh", {"command": "gh-mcp"}, replacing="github"
    )
    assert list(document["mcpServers"]) == ["gh", "fetch"]
    document = config_file.without_server(document, "gh")
    assert list(document["mcpServers"]) == ["fetch"]


def test_always_is_the_default_and_is_not_written_unless_the_entry_had_a_policy() -> None:
    document = config_file.with_approval(CLAUDE_DESKTOP, "fetch", "always")
    assert "requireApproval" not in document["mcpServers"]["fetch"]
    document = config_file.with_approval(document, "fetch", "never")
    assert document["mcpServers"]["fetch"]["requireApproval"] == "never"
    document = config_file.with_approval(document, "fetch", "always")
    assert document["mcpServers"]["fetch"]["requireApproval"] == "always"


def test_clines_disabled_key_is_kept_in_step() -> None:
    document = {"mcpServers": {"x": {"command": "x", "disabled": True}}}
    document = config_file.with_enabled(document, "x", True)
    assert document["mcpServers"]["x"] == {"command": "x", "disabled": False, "enabled": True}


def test_pasted_servers_are_added_or_replace_same_named_ones() -> None:
    ours = {"mcpServers": {"fetch": {"command": "old-fetch"}, "mine": {"command": "mine"}}}
    result, merge = config_file.merged(ours, CLAUDE_DESKTOP)
    assert merge.added == ("github",) and merge.replaced == ("fetch",)
    assert list(result["mcpServers"]) == ["fetch", "mine", "github"]
    assert result["mcpServers"]["fetch"] == {"command": "uvx", "args": ["mcp-server-fetch"]}
    assert "globalShortcut" not in result
    assert config_file.ignored_keys(CLAUDE_DESKTOP) == ["globalShortcut"]


def test_vs_code_servers_key_is_edited_where_it_is() -> None:
    document = config_file.with_server({"servers": {}}, "a", {"command": "a"})
    assert document == {"servers": {"a": {"command": "a"}}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "is not valid JSON (line 1"),
        ("[]", "must hold a JSON object"),
        ('{"mcpServers": []}', '"mcpServers" must be an object'),
    ],
)
def test_text_that_is_no_document_is_one_line(text: str, problem: str) -> None:
    with pytest.raises(McpConfigError, match=problem.replace("(", r"\(")):
        config_file.parse_document(text, "the JSON")


def test_a_missing_or_empty_file_has_no_servers(tmp_path: Path) -> None:
    assert config_file.read_document(tmp_path / "none.json") == {"mcpServers": {}}
    (tmp_path / "empty.json").write_text("  \n")
    assert config_file.read_document(tmp_path / "empty.json") == {"mcpServers": {}}


def test_check_is_the_servers_own_rules() -> None:
    with pytest.raises(McpConfigError, match='server "bad": "command" is empty'):
        config_file.check({"mcpServers": {"bad": {"command": " "}}}, "mcp.json", {})
    with pytest.raises(McpConfigError, match=r"\$\{env:GITHUB_TOKEN\}, but GITHUB_TOKEN"):
        config_file.check(CLAUDE_DESKTOP, "mcp.json", {})
    assert len(config_file.check(CLAUDE_DESKTOP, "mcp.json", {"GITHUB_TOKEN": "t"}).servers) == 2


def test_a_new_file_is_private_an_old_one_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "mcp.json"
    config_file.write_document(path, CLAUDE_DESKTOP)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    config_file.write_document(path, {"mcpServers": {}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not list(path.parent.glob(".*.tmp")), "no temporary file left behind"


def test_a_linked_file_is_written_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "claude_desktop_config.json"
    config_file.write_document(real, CLAUDE_DESKTOP)
    link = tmp_path / "mcp.json"
    os.symlink(real, link)
    document = config_file.without_server(config_file.read_document(link), "fetch")
    config_file.write_document(link, document)
    assert link.is_symlink()
    assert list(json.loads(real.read_text())["mcpServers"]) == ["github"]
    assert load_mcp_config(link, {"GITHUB_TOKEN": "t"}).servers[0].name == "github"
