from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from tests.support.keyrings import MemoryKeyring


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests see no CHATKIT_DESK_* or provider key variables from the machine."""
    import os

    for name in list(os.environ):
        if name.startswith("CHATKIT_DESK_") or name in ("OPENAI_API_KEY", "GEMINI_API_KEY"):
            monkeypatch.delenv(name)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
