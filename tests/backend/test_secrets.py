"""Keys in the keyring, the environment winning, and keyring failures that never crash."""

from __future__ import annotations

import keyring
import pytest

from backend import secrets
from tests.support.keyrings import LockedKeyring, MemoryKeyring, NoKeyring


def test_key_round_trip(memory_keyring: MemoryKeyring) -> None:
    assert not secrets.provider_key("openai").found

    secrets.set_provider_key("openai", "  sk-stored\n")

    lookup = secrets.provider_key("openai")
    assert (lookup.value, lookup.source) == ("sk-stored", "keyring")
    assert memory_keyring.entries == {("chatkit-desk", "openai"): "sk-stored"}
    assert secrets.delete_provider_key("openai") is True
    assert secrets.delete_provider_key("openai") is False
    assert not secrets.provider_key("openai").found


def test_environment_wins_over_keyring(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets.set_provider_key("gemini", "from-keyring")
    monkeypatch.setenv("GEMINI_API_KEY", "from-env")
    lookup = secrets.provider_key("gemini")
    assert (lookup.value, lookup.source) == ("from-env", "environment")


@pytest.mark.parametrize("bad", ["", "   ", "two words", "line\nbreak"])
def test_rejects_keys_that_cannot_be_right(memory_keyring: MemoryKeyring, bad: str) -> None:
    with pytest.raises(ValueError):
        secrets.set_provider_key("openai", bad)
    assert memory_keyring.entries == {}


@pytest.mark.parametrize(
    ("backend", "explanation"),
    [(LockedKeyring, "keyring is locked"), (NoKeyring, "no system keyring is available")],
)
def test_keyring_failures_become_explanations(backend: type, explanation: str) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend())
    try:
        lookup = secrets.provider_key("openai")
        assert not lookup.found and explanation in (lookup.problem or "")
        with pytest.raises(secrets.KeyringUnavailable, match=explanation):
            secrets.set_provider_key("openai", "sk-x")
        with pytest.raises(secrets.KeyringUnavailable):
            secrets.delete_provider_key("openai")
        assert explanation in (secrets.jwt_secret().problem or "")
    finally:
        keyring.set_keyring(previous)


def test_jwt_secret_is_generated_once_and_kept(memory_keyring: MemoryKeyring) -> None:
    first = secrets.jwt_secret()
    second = secrets.jwt_secret()
    assert first.found and first.source == "keyring"
    assert first.value == second.value
    assert len(first.value or "") >= 48
    assert secrets.jwt_secret("configured-" + "x" * 32).source == "environment"


def test_backend_warning_for_unsafe_backends(memory_keyring: MemoryKeyring) -> None:
    assert secrets.backend_warning() is None
    assert "MemoryKeyring" in secrets.backend_name()
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())
    assert "no usable system keyring" in (secrets.backend_warning() or "")
