"""A local tool server's command is found as a login shell would find it, and the server gets an
environment with nothing of ChatKit Desk's in it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from backend.tools import launch
from backend.tools.launch import CommandNotFound, resolve_command, search_path, tool_environment


def executable(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def test_a_command_in_the_login_shells_path_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desktop-launched app's PATH lacks what the shell profile adds (nvm, ~/.local/bin)."""
    profile_bin = tmp_path / "profile-bin"
    program = executable(profile_bin, "npx-like")
    shell = tmp_path / "login-shell"
    shell.write_text(  # a login shell whose profile adds a folder, running what -c says
        f'#!/bin/sh\nwhile [ "$1" != -c ]; do shift; done\n'
        f'PATH="{profile_bin}:$PATH"; export PATH\nexec /bin/sh -c "$2"\n'
    )
    shell.chmod(0o755)
    monkeypatch.setenv("SHELL", str(shell))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    launch.login_shell_path.cache_clear()
    try:
        path = search_path()
        assert str(profile_bin) in path.split(os.pathsep)
        assert resolve_command("npx-like", path) == str(program)
    finally:
        launch.login_shell_path.cache_clear()


def test_well_known_tool_folders_are_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    program = executable(tmp_path / ".local" / "bin", "uvx-like")
    path = search_path({"PATH": "/usr/bin"})
    assert resolve_command("uvx-like", path) == str(program)


def test_a_missing_command_says_where_it_looked_and_what_to_do() -> None:
    with pytest.raises(CommandNotFound) as missing:
        resolve_command("no-such-tool-xyz", "/usr/bin:/bin")
    message = str(missing.value)
    assert "'no-such-tool-xyz' was not found" in message
    assert "give its full path in mcp.json" in message and "/usr/bin:/bin" in message


def test_a_command_given_as_a_path_must_be_an_executable_file(tmp_path: Path) -> None:
    program = executable(tmp_path, "server")
    assert resolve_command(str(program), "") == str(program)
    assert resolve_command("./server", "", cwd=str(tmp_path)) == str(program)
    with pytest.raises(CommandNotFound, match="is not an executable file"):
        resolve_command(str(tmp_path / "missing"), "")


def test_the_tool_environment_carries_nothing_of_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-must-not-leak")
    monkeypatch.setenv("CHATKIT_DESK_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-ours-either")
    monkeypatch.setenv("HOME", "/home/someone")

    environment = tool_environment({"API_TOKEN": "the-servers-own"}, "/usr/bin")

    assert environment["HOME"] == "/home/someone" and environment["PATH"] == "/usr/bin"
    assert environment["API_TOKEN"] == "the-servers-own"
    leaked = [name for name in environment if "KEY" in name or name.startswith("CHATKIT_DESK")]
    assert leaked == []
    assert set(environment) <= {*launch.INHERITED, "PATH", "API_TOKEN"}
