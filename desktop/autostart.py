"""Start at login: an XDG autostart entry on Linux, a LaunchAgent on macOS, the Run key on Windows.

Each is the mechanism the platform documents for per-user login items, and each is a plain entry
the user can see and remove without the app: ``~/.config/autostart/chatkit-desk.desktop``,
``~/Library/LaunchAgents/io.github.chatkit-desk.plist``, or the ``ChatKit Desk`` value under
``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.
"""

from __future__ import annotations

import os
import plistlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from backend.resources import resource_dir

ENTRY_NAME = "chatkit-desk"
LAUNCH_AGENT_LABEL = "io.github.chatkit-desk"
RUN_KEY = r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "ChatKit Desk"
_EXEC_RESERVED = re.compile(r"""[\s"'\\><~|&;$*?#()`]""")


def tray_command(data_dir: str | None) -> list[str]:
    """How to start this tray app again: the bundle, the ``chatkit-desk`` script, or ``-m``."""
    if getattr(sys, "frozen", False):
        command = [sys.executable, "tray"]
    else:
        script = Path(sys.executable).with_name("chatkit-desk")
        if script.exists():
            command = [str(script), "tray"]
        else:
            command = [sys.executable, "-m", "chatkit_desk", "tray"]
    if data_dir:
        command += ["--data-dir", str(Path(data_dir).expanduser().resolve())]
    return command


class Autostart(Protocol):
    def is_enabled(self) -> bool: ...
    def enable(self, command: list[str]) -> None: ...
    def disable(self) -> None: ...


def exec_line(command: list[str]) -> str:
    """``command`` as a desktop entry ``Exec`` value (quoting and escaping per the spec)."""
    arguments = []
    for argument in command:
        if _EXEC_RESERVED.search(argument):
            argument = '"' + re.sub(r'(["`$\\])', r"\\\1", argument) + '"'
        # the string-value escape applies on top of the Exec quoting, and % starts a field code
        arguments.append(argument.replace("\\", "\\\\").replace("%", "%%"))
    return " ".join(arguments)


class XdgAutostart:
    """``$XDG_CONFIG_HOME/autostart/chatkit-desk.desktop`` (freedesktop Desktop Application
    Autostart Specification), read by GNOME, KDE, Xfce and most other desktops at login."""

    @property
    def path(self) -> Path:
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config_home) / "autostart" / f"{ENTRY_NAME}.desktop"

    def is_enabled(self) -> bool:
        return self.path.exists()

    def enable(self, command: list[str]) -> None:
        template = (resource_dir() / "linux" / f"{ENTRY_NAME}-autostart.desktop.in").read_text(
            encoding="utf-8"
        )
        icon = resource_dir() / "icons" / "chatkit-desk.svg"
        # TryExec: once the app is uninstalled, desktops skip the entry instead of failing it.
        entry = (
            template.replace("@TRY_EXEC@", command[0])
            .replace("@EXEC@", exec_line(command))
            .replace("@ICON@", str(icon))
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(entry, encoding="utf-8")

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


class LaunchAgentAutostart:
    """A per-user LaunchAgent with ``RunAtLoad``, which launchd starts at login."""

    def __init__(self, home: Path | None = None) -> None:
        self._home = home or Path.home()

    @property
    def path(self) -> Path:
        return self._home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"

    def is_enabled(self) -> bool:
        return self.path.exists()

    def enable(self, command: list[str]) -> None:
        agent = {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(plistlib.dumps(agent))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


class RunKeyAutostart:
    """The ``HKCU\\…\\Run`` registry value Windows starts at login (through ``QSettings``)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QSettings

        self._settings = QSettings(RUN_KEY, QSettings.Format.NativeFormat)

    def is_enabled(self) -> bool:
        return self._settings.contains(RUN_VALUE)

    def enable(self, command: list[str]) -> None:
        self._settings.setValue(RUN_VALUE, subprocess.list2cmdline(command))
        self._settings.sync()

    def disable(self) -> None:
        self._settings.remove(RUN_VALUE)
        self._settings.sync()


def for_this_platform() -> Autostart:
    if sys.platform == "win32":
        return RunKeyAutostart()
    if sys.platform == "darwin":
        return LaunchAgentAutostart()
    return XdgAutostart()
