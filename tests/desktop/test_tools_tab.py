"""The Tools tab: mcp.json edited through the form, the switches and the raw JSON; "Connect and
list tools" against the real test MCP server; a change applied live by a supervised server.

Dialogs are opened non-modally (``open()``), so a test fills them and presses their buttons as
a person would, and waits on what the window shows, never on a timer.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.app import DeskApp
from desktop.tool_server_form import ToolServerDialog
from desktop.tools_tab import ToolsTab
from tests.desktop.helpers import START_TIMEOUT_MS, wait_running
from tests.support.mcp_servers import SERVER_SCRIPT, McpHttpServer, stdio_entry, write_mcp_json

CHECK_TIMEOUT_MS = 60_000
"""A check starts the CLI, which starts the tool server: seconds, more on a busy machine."""
TEST_TOOLS = ["add", "echo", "environment", "fail", "grow", "multiline", "slow", "wait_for"]


@pytest.fixture
def tab(qtbot: QtBot, desk: DeskApp) -> ToolsTab:
    desk.show_settings()
    desk.window.tabs.setCurrentWidget(desk.window.tools_tab)
    return desk.window.tools_tab


def mcp_file(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "mcp.json").read_text())


def open_add(tab: ToolsTab) -> ToolServerDialog:
    tab.add_button.click()
    assert tab.dialog is not None and tab.dialog.isVisible()
    return tab.dialog


def open_edit(tab: ToolsTab, name: str) -> ToolServerDialog:
    tab.select(name)
    tab.edit_button.click()
    assert tab.dialog is not None and tab.dialog.isVisible()
    return tab.dialog


def fill_stdio(dialog: ToolServerDialog, name: str, folder: Path) -> None:
    entry = stdio_entry(folder)
    dialog.name_edit.setText(name)
    dialog.command_edit.setText(entry["command"])
    dialog.args_edit.setPlainText("\n".join(entry["args"]))
    dialog.env_editor.add_row("MCP_TEST_DIR", str(folder))


def save(dialog: ToolServerDialog) -> None:
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()


def choose(tab: ToolsTab, name: str, label: str) -> None:
    """Pick an approval policy in a server's row, as a click would."""
    combo = tab.approval_combo(name)
    index = combo.findText(label)
    assert index >= 0, f"{label!r} in {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_problems_are_shown_under_their_fields_and_nothing_is_written(
    tab: ToolsTab, data_dir: Path
) -> None:
    dialog = open_add(tab)
    save(dialog)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert "Give the server a name" in dialog.name_error.text()
    assert "The program to run" in dialog.command_error.text()

    dialog.name_edit.setText("my server!")
    dialog.command_edit.setText("npx")
    dialog.timeout_edit.setText("soon")
    save(dialog)
    assert "A number of seconds" in dialog.timeout_error.text()

    dialog.timeout_edit.setText("0")
    save(dialog)
    assert "A server name is 1-64 letters" in dialog.name_error.text()
    assert dialog.timeout_error.isHidden(), "the server's rules say one thing at a time"

    dialog.name_edit.setText("files")
    save(dialog)
    assert '"timeout" must be more than 0' in dialog.timeout_error.text()
    assert dialog.name_error.isHidden()
    dialog.timeout_edit.clear()

    dialog.env_editor.add_row("TOKEN", "${env:CHATKIT_DESK_TEST_UNSET}")
    save(dialog)
    assert "CHATKIT_DESK_TEST_UNSET is not set" in dialog.env_error.text()

    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("remote"))
    dialog.url_edit.setText("ftp://example.com")
    save(dialog)
    assert "must be an http:// or https:// URL" in dialog.url_error.text()
    assert dialog.isVisible()
    dialog.reject()
    assert not (data_dir / "mcp.json").exists()


def test_a_name_already_taken_is_refused(tab: ToolsTab, data_dir: Path) -> None:
    write_mcp_json(data_dir / "mcp.json", {"files": {"command": "npx"}})
    tab.load()
    dialog = open_add(tab)
    dialog.name_edit.setText("files")
    dialog.command_edit.setText("uvx")
    save(dialog)
    assert "There is a server named files already" in dialog.name_error.text()


def test_an_added_stdio_server_is_claude_desktops_shape(
    tab: ToolsTab, data_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mcp"
    dialog = open_add(tab)
    fill_stdio(dialog, "files", folder)
    assert dialog.env_editor.rows[0][1].echoMode() is QLineEdit.EchoMode.Password
    dialog.env_editor.show_button.click()
    assert dialog.env_editor.rows[0][1].echoMode() is QLineEdit.EchoMode.Normal

    save(dialog)

    assert not dialog.isVisible()
    assert mcp_file(data_dir) == {"mcpServers": {"files": stdio_entry(folder)}}
    assert "Added files." in tab.message.text()
    assert tab.state_text("files") == "server not running"

    dialog = open_edit(tab, "files")
    dialog.approval_combo.setCurrentIndex(dialog.approval_combo.findData("some"))
    dialog.approval_tools_edit.setText("echo, add")
    dialog.allowed_edit.setText("echo add fail")
    dialog.timeout_edit.setText("30")
    dialog.enabled_check.setChecked(False)
    save(dialog)
    assert mcp_file(data_dir)["mcpServers"]["files"] == {
        **stdio_entry(folder),
        "enabled": False,
        "allowedTools": ["echo", "add", "fail"],
        "requireApproval": ["echo", "add"],
        "timeout": 30,
    }
    assert tab.state_text("files") == "turned off"


def test_an_edit_keeps_other_apps_keys_placeholders_and_order(
    tab: ToolsTab, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-from-the-environment")
    original = {
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
    (data_dir / "mcp.json").write_text(json.dumps(original))
    tab.load()

    dialog = open_edit(tab, "github")
    assert dialog.env_editor.items() == {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_TOKEN}"}
    dialog.name_edit.setText("gh")
    dialog.args_edit.appendPlainText("--read-only")
    save(dialog)

    written = mcp_file(data_dir)
    assert written["globalShortcut"] == "Ctrl+Space"
    assert list(written["mcpServers"]) == ["gh", "fetch"], "renamed in its place"
    assert written["mcpServers"]["gh"] == {
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-github", "--read-only"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_TOKEN}"},
        "autoApprove": ["search_repositories"],
    }
    assert "ghp-from-the-environment" not in (data_dir / "mcp.json").read_text()


def test_remove_asks_first(tab: ToolsTab, data_dir: Path) -> None:
    write_mcp_json(data_dir / "mcp.json", {"a": {"command": "a"}, "b": {"command": "b"}})
    tab.load()
    tab.select("a")
    tab.remove_button.click()
    assert tab.confirm is not None
    tab.confirm.button(QMessageBox.StandardButton.Cancel).click()
    assert list(mcp_file(data_dir)["mcpServers"]) == ["a", "b"]

    tab.remove_button.click()
    tab.confirm.button(QMessageBox.StandardButton.Yes).click()
    assert list(mcp_file(data_dir)["mcpServers"]) == ["b"]
    assert "Removed a." in tab.message.text()


def test_the_switch_writes_enabled(tab: ToolsTab, data_dir: Path) -> None:
    write_mcp_json(data_dir / "mcp.json", {"a": {"command": "a", "args": []}})
    tab.load()
    item = tab.tree.topLevelItem(0)
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert mcp_file(data_dir)["mcpServers"]["a"] == {"command": "a", "args": [], "enabled": False}
    assert tab.state_text("a") == "turned off"
    tab.tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Checked)
    assert mcp_file(data_dir)["mcpServers"]["a"]["enabled"] is True


def test_approval_policy_round_trip(tab: ToolsTab, data_dir: Path) -> None:
    write_mcp_json(
        data_dir / "mcp.json",
        {"a": {"command": "a"}, "b": {"command": "b", "requireApproval": ["echo", "add"]}},
    )
    tab.load()
    assert tab.approval_combo("a").currentText() == "Always ask"
    assert tab.approval_combo("b").currentText() == "Ask for: echo, add"

    choose(tab, "a", "Never ask")
    assert mcp_file(data_dir)["mcpServers"]["a"]["requireApproval"] == "never"
    choose(tab, "b", "Always ask")
    assert mcp_file(data_dir)["mcpServers"]["b"]["requireApproval"] == "always"
    assert tab.approval_combo("a").currentText() == "Never ask"

    choose(tab, "a", "Ask for some tools…")
    assert tab.dialog is not None and tab.dialog.approval_tools_edit.isEnabled()
    tab.dialog.approval_tools_edit.setText("fail")
    save(tab.dialog)
    assert mcp_file(data_dir)["mcpServers"]["a"]["requireApproval"] == ["fail"]
    assert tab.approval_combo("a").currentText() == "Ask for: fail"


def test_a_pasted_claude_desktop_file_adds_its_servers(
    tab: ToolsTab, data_dir: Path, tmp_path: Path
) -> None:
    write_mcp_json(data_dir / "mcp.json", {"mine": {"command": "mine"}, "fetch": {"command": "x"}})
    tab.load()
    claude = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
            "tests": stdio_entry(tmp_path / "mcp"),
        },
    }
    tab.pages.setCurrentIndex(1)
    tab.json_edit.setPlainText(json.dumps(claude, indent=2))
    tab.merge_button.click()

    written = mcp_file(data_dir)
    assert list(written["mcpServers"]) == ["mine", "fetch", "tests"]
    assert written["mcpServers"]["fetch"] == claude["mcpServers"]["fetch"]
    message = tab.message.text()
    assert "Added tests." in message and "Replaced fetch." in message
    assert "Left out the other app's own settings: globalShortcut." in message
    assert json.loads(tab.json_edit.toPlainText()) == written, "the view shows the file"


def test_apply_makes_the_text_the_file_keeping_every_key(
    tab: ToolsTab, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "secret-value")
    write_mcp_json(data_dir / "mcp.json", {"old": {"command": "old"}})
    tab.load()
    claude = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "api": {"url": "https://example.com/mcp", "headers": {"X": "${env:API_KEY}"}}
        },
    }
    tab.json_edit.setPlainText(json.dumps(claude))
    tab.apply_button.click()

    assert mcp_file(data_dir) == claude
    assert "Saved mcp.json with 1 server." in tab.message.text()
    assert tab.tree.topLevelItemCount() == 1 and tab.approval_combo("api")

    before = (data_dir / "mcp.json").read_bytes()
    tab.json_edit.setPlainText('{"mcpServers": {"api": {"url": "https://example.com/mcp",}}}')
    tab.apply_button.click()
    assert "is not valid JSON (line 1" in tab.json_error.text()
    tab.json_edit.setPlainText('{"mcpServers": {"x": {"command": "x", "timeout": -1}}}')
    tab.merge_button.click()
    assert 'server "x": "timeout" must be more than 0' in tab.json_error.text()
    assert (data_dir / "mcp.json").read_bytes() == before


def test_connect_and_list_shows_the_tools_of_an_unsaved_server(
    qtbot: QtBot, tab: ToolsTab, data_dir: Path, tmp_path: Path
) -> None:
    dialog = open_add(tab)
    fill_stdio(dialog, "tests", tmp_path / "mcp")
    dialog.check_button.click()
    assert "Connecting to tests" in dialog.check_view.message.text()

    qtbot.waitUntil(dialog.check_button.isEnabled, timeout=CHECK_TIMEOUT_MS)

    assert dialog.check_view.message.text() == f"✓ tests: connected, {len(TEST_TOOLS)} tools"
    assert sorted(dialog.check_view.tool_names()) == TEST_TOOLS
    assert not (data_dir / "mcp.json").exists(), "checking saves nothing"

    dialog.command_edit.setText(str(tmp_path / "no-such-program"))
    dialog.check_button.click()
    qtbot.waitUntil(dialog.check_button.isEnabled, timeout=CHECK_TIMEOUT_MS)
    assert dialog.check_view.message.text() == (
        f"✗ tests: unavailable: {tmp_path / 'no-such-program'} is not an executable file"
    )
    assert dialog.check_view.tools.isHidden()


def test_connect_and_list_a_saved_remote_server(
    qtbot: QtBot, tab: ToolsTab, data_dir: Path, tmp_path: Path
) -> None:
    with McpHttpServer(tmp_path / "mcp", "sse") as server:
        write_mcp_json(data_dir / "mcp.json", {"remote": server.entry()})
        tab.load()
        assert tab.tree.topLevelItem(0).text(1) == "remote · SSE"
        tab.select("remote")
        tab.check_button.click()
        qtbot.waitUntil(
            lambda: tab.check_view.message.text().startswith(("✓", "✗")),
            timeout=CHECK_TIMEOUT_MS,
        )
    assert tab.check_view.message.text() == f"✓ remote: connected, {len(TEST_TOOLS)} tools"
    assert sorted(tab.check_view.tool_names()) == TEST_TOOLS


def test_a_server_added_in_the_tab_is_connected_by_the_running_server(
    qtbot: QtBot,
    desk: DeskApp,
    tab: ToolsTab,
    data_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)

    dialog = open_add(tab)
    fill_stdio(dialog, "files", tmp_path / "mcp")
    dialog.env_editor.add_row("SECRET_FOR_THE_TOOL", "do-not-log-me")
    save(dialog)

    qtbot.waitUntil(
        lambda: tab.state_text("files") == f"connected · {len(TEST_TOOLS)} tools",
        timeout=START_TIMEOUT_MS,
    )
    assert "running server applies it" in tab.message.text()

    tab.tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)
    assert tab.state_text("files") == "turned off"
    qtbot.waitUntil(
        lambda: tab.poller.latest.servers["files"]["status"] == "disabled",
        timeout=START_TIMEOUT_MS,
    )
    assert "do-not-log-me" not in caplog.text

    desk.window.tabs.setCurrentIndex(0)
    assert not tab.poller.active, "no polling while the tab is hidden"


def test_a_file_that_cannot_be_used_is_said_and_can_be_fixed_in_the_json_view(
    qtbot: QtBot, desk: DeskApp, data_dir: Path
) -> None:
    (data_dir / "mcp.json").write_text('{"mcpServers": {"x": ')
    desk.show_settings()
    tab = desk.window.tools_tab
    desk.window.tabs.setCurrentWidget(tab)
    assert "is not valid JSON" in tab.problem.text()
    assert tab.tree.topLevelItemCount() == 0
    assert tab.json_edit.toPlainText() == '{"mcpServers": {"x": ', "shown as it is, to fix"

    tab.json_edit.setPlainText(json.dumps({"mcpServers": {"x": {"command": str(SERVER_SCRIPT)}}}))
    tab.apply_button.click()
    assert tab.problem.isHidden()
    assert tab.tree.topLevelItemCount() == 1
