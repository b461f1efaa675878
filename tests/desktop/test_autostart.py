"""Start at login entries, written and removed for real (in a temporary home)."""

from __future__ import annotations

import configparser
import plistlib
import sys
from pathlib import Path

import pytest

from desktop.autostart import LaunchAgentAutostart, XdgAutostart, exec_line, tray_command


def test_xdg_entry_is_written_and_removed(tmp_path: Path) -> None:
    autostart = XdgAutostart()
    assert autostart.path == tmp_path / "config" / "autostart" / "chatkit-desk.desktop"
    assert not autostart.is_enabled()

    autostart.enable(["/opt/chatkit desk/chatkit-desk", "tray"])

    assert autostart.is_enabled()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(autostart.path)
    assert entry["Desktop Entry"]["Exec"] == '"/opt/chatkit desk/chatkit-desk" tray'
    assert entry["Desktop Entry"]["Name"] == "ChatKit Desk"
    autostart.disable()
    assert not autostart.is_enabled()
    autostart.disable()  # twice is fine


def test_without_xdg_config_home_it_is_under_dot_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert XdgAutostart().path == tmp_path / ".config" / "autostart" / "chatkit-desk.desktop"


def test_exec_line_quotes_and_escapes_per_the_spec() -> None:
    assert exec_line(["/usr/bin/app", "tray"]) == "/usr/bin/app tray"
    assert exec_line(["/a b/app", "100%"]) == '"/a b/app" 100%%'
    assert exec_line(['/x/"$y"']) == '"/x/\\\\"\\\\$y\\\\""'


def test_launch_agent_is_written_and_removed(tmp_path: Path) -> None:
    agent = LaunchAgentAutostart(home=tmp_path)
    agent.enable(["/Applications/ChatKit Desk.app/Contents/MacOS/chatkit-desk", "tray"])
    content = plistlib.loads(agent.path.read_bytes())
    assert content["RunAtLoad"] is True
    assert content["ProgramArguments"][1] == "tray"
    assert agent.path.parent == tmp_path / "Library" / "LaunchAgents"
    agent.disable()
    assert not agent.is_enabled()


def test_the_tray_command_starts_the_tray_with_the_same_data_dir(tmp_path: Path) -> None:
    command = tray_command(str(tmp_path))
    assert command[-3:] == ["tray", "--data-dir", str(tmp_path.resolve())]
    assert command[0].startswith(str(Path(sys.executable).parent))
    assert tray_command(None)[-1] == "tray"
