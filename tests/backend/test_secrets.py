"""Keys in the keyring, the environment winning, and keyring failures that never crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from backend import secrets
from tests.support.keyrings import BrokenKeyring, LockedKeyring, MemoryKeyring, NoKeyring


def test_key_round_trip(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    assert not secrets.provider_key("openai").found

    secrets.set_provider_key("openai", "  sk-stored\n", data_dir=tmp_path)

    lookup = secrets.provider_key("openai")
    assert (lookup.value, lookup.source) == ("sk-stored", "keyring")
    assert memory_keyring.entries == {("chatkit-desk", "openai"): "sk-stored"}
    assert secrets.delete_provider_key("openai", data_dir=tmp_path) is True
    assert secrets.delete_provider_key("openai", data_dir=tmp_path) is False
    assert not secrets.provider_key("openai").found


def test_environment_wins_over_keyring(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets.set_provider_key("gemini", "from-keyring", data_dir=tmp_path)
    monkeypatch.setenv("GEMINI_API_KEY", "from-env")
    lookup = secrets.provider_key("gemini")
    assert (lookup.value, lookup.source) == ("from-env", "environment")


@pytest.mark.parametrize("bad", ["", "   ", "two words", "line\nbreak"])
def test_rejects_keys_that_cannot_be_right(
    memory_keyring: MemoryKeyring, bad: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError):
        secrets.set_provider_key("openai", bad, data_dir=tmp_path)
    assert memory_keyring.entries == {}


@pytest.mark.parametrize(
    ("backend", "explanation"),
    [
        (LockedKeyring, "keyring is locked"),
        (NoKeyring, "no system keyring is available"),
        (BrokenKeyring, "the system keyring failed"),
    ],
)
def test_keyring_failures_become_explanations(
    backend: type, explanation: str, tmp_path: Path
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend())
    try:
        lookup = secrets.provider_key("openai")
        assert not lookup.found and explanation in (lookup.problem or "")
        with pytest.raises(secrets.KeyringUnavailable, match=explanation):
            secrets.set_provider_key("openai", "sk-x", data_dir=tmp_path)
        with pytest.raises(secrets.KeyringUnavailable):
            secrets.delete_provider_key("openai", data_dir=tmp_path)
        signing = secrets.jwt_secret(None, tmp_path)
        assert signing.source == "file", "without a keyring the secret is kept in a file"
    finally:
        keyring.set_keyring(previous)


def test_jwt_secret_is_generated_once_and_kept(
    memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    first = secrets.jwt_secret(None, tmp_path)
    second = secrets.jwt_secret(None, tmp_path)
    assert first.found and first.source == "keyring"
    assert first.value == second.value
    assert len(first.value or "") >= 48
    assert not (tmp_path / secrets.JWT_SECRET_FILE).exists()
    assert secrets.jwt_secret("configured-" + "x" * 32, tmp_path).source == "environment"


def test_backend_warning_for_unsafe_backends(memory_keyring: MemoryKeyring) -> None:
    assert secrets.backend_warning() is None
    assert "MemoryKeyring" in secrets.backend_name()
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())
    assert "no usable system keyring" in (secrets.backend_warning() or "")


class CountingKeyring(MemoryKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return super().get_password(service, username)


@pytest.fixture
def counting_keyring() -> Iterator[CountingKeyring]:
    previous = keyring.get_keyring()
    backend = CountingKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_key_cache_reads_the_keyring_once(counting_keyring: CountingKeyring, tmp_path) -> None:
    secrets.set_provider_key("openai", "sk-first", data_dir=tmp_path)
    cache = secrets.KeyCache(tmp_path)
    assert [cache.lookup("openai").value for _ in range(5)] == ["sk-first"] * 5
    assert counting_keyring.reads == 1


def test_key_cache_sees_a_key_changed_through_chatkit_desk(
    counting_keyring: CountingKeyring, tmp_path: Path
) -> None:
    cache = secrets.KeyCache(tmp_path)
    secrets.set_provider_key("gemini", "g-first", data_dir=tmp_path)
    assert cache.lookup("gemini").value == "g-first"

    secrets.set_provider_key("gemini", "g-second", data_dir=tmp_path)
    assert cache.lookup("gemini").value == "g-second"

    secrets.delete_provider_key("gemini", data_dir=tmp_path)
    assert not cache.lookup("gemini").found


def test_key_cache_forgets_a_refused_key_and_retries_missing_ones(
    counting_keyring: CountingKeyring, tmp_path: Path
) -> None:
    cache = secrets.KeyCache(tmp_path)
    assert not cache.lookup("openai").found
    counting_keyring.entries[("chatkit-desk", "openai")] = "sk-set-by-another-tool"
    assert cache.lookup("openai").value == "sk-set-by-another-tool"  # a miss is not cached

    counting_keyring.entries[("chatkit-desk", "openai")] = "sk-changed-by-another-tool"
    assert cache.lookup("openai").value == "sk-set-by-another-tool"
    cache.forget("openai")
    assert cache.lookup("openai").value == "sk-changed-by-another-tool"


def test_key_cache_leaves_environment_keys_alone(
    counting_keyring: CountingKeyring, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    cache = secrets.KeyCache(tmp_path)
    assert cache.lookup("openai").source == "environment"
    assert counting_keyring.reads == 0


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_the_signing_secret_is_kept_in_an_owner_only_file(
    no_keyring: None, tmp_path: Path
) -> None:
    first = secrets.jwt_secret(None, tmp_path)
    again = secrets.jwt_secret(None, tmp_path)

    kept = tmp_path / secrets.JWT_SECRET_FILE
    assert first.source == again.source == "file"
    assert first.value == again.value == kept.read_text()
    assert len(first.value or "") >= 48
    assert kept.stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [kept], "no temporary file is left behind"
    assert "kept in" in secrets.jwt_secret_whereabouts(None, tmp_path)


def test_a_keyring_that_keeps_nothing_is_not_trusted_with_the_secret(tmp_path: Path) -> None:
    from keyring.backends.null import Keyring as NullKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(NullKeyring())
    try:
        first = secrets.jwt_secret(None, tmp_path)
        assert first.source == "file"
        assert secrets.jwt_secret(None, tmp_path).value == first.value
    finally:
        keyring.set_keyring(previous)


def test_once_kept_in_a_file_the_secret_stays_there_when_a_keyring_appears(
    no_keyring: None, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    """Tokens minted while there was no keyring stay valid after one is installed."""
    keyring.set_keyring(NoKeyring())
    headless = secrets.jwt_secret(None, tmp_path)
    keyring.set_keyring(memory_keyring)
    assert secrets.jwt_secret(None, tmp_path) == headless
    assert memory_keyring.entries == {}


def test_processes_that_start_together_agree_on_one_secret(
    no_keyring: None, tmp_path: Path
) -> None:
    import threading

    start = threading.Barrier(6)
    seen: list[str | None] = []

    def look_up() -> None:
        start.wait(timeout=30)
        seen.append(secrets.jwt_secret(None, tmp_path).value)

    workers = [threading.Thread(target=look_up) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(seen) == 6 and len(set(seen)) == 1 and seen[0]
