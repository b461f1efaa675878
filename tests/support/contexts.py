"""Request contexts for in-process tests: a user and a snapshot of default settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.context import RequestContext
from backend.settings import Settings


def settings_with(data_dir: Path = Path("/nonexistent"), **values: Any) -> Settings:
    """Settings from these values and the defaults only (no environment, no settings.json)."""
    return Settings.model_validate({"data_dir": data_dir, **values})


def context_for(user_id: str, **settings: Any) -> RequestContext:
    return RequestContext(user_id=user_id, settings=settings_with(**settings))
