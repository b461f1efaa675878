"""Where ChatKit Desk keeps its data; no pydantic here (the idle tray needs this, not settings)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "chatkit-desk"
ENV_PREFIX = "CHATKIT_DESK_"
SETTINGS_FILE_NAME = "settings.json"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The command line wins, then ``CHATKIT_DESK_DATA_DIR``, then the platform default."""
    chosen = data_dir or os.environ.get(f"{ENV_PREFIX}DATA_DIR") or default_data_dir()
    return Path(chosen).expanduser()
