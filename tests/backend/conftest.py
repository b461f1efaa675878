from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests see no CHATKIT_DESK_* or provider key variables from the machine."""
    import os

    for name in list(os.environ):
        if name.startswith("CHATKIT_DESK_") or name in ("OPENAI_API_KEY", "GEMINI_API_KEY"):
            monkeypatch.delenv(name)
