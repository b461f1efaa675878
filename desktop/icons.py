"""The app icon and one tray icon per server state, drawn as SVG in ``resources/icons``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from backend.resources import resource_dir
from desktop.server_state import ServerState


def icon_dir() -> Path:
    return resource_dir() / "icons"


@cache
def app_icon() -> QIcon:
    return QIcon(str(icon_dir() / "chatkit-desk.svg"))


@cache
def state_icon(state: ServerState) -> QIcon:
    return QIcon(str(icon_dir() / f"tray-{state.value}.svg"))
