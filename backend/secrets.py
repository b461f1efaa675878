"""Provider API keys and the token signing secret, kept in the OS keyring.

Environment variables win over the keyring (``OPENAI_API_KEY``, ``GEMINI_API_KEY``,
``CHATKIT_DESK_JWT_SECRET``). A keyring that is missing, locked or broken never crashes the
server: lookups report *why* there is no key, and the chat tells the user what to do.
"""

from __future__ import annotations

import os
import secrets as _random
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import keyring.errors

from backend.settings import Provider

SERVICE = "chatkit-desk"
JWT_SECRET_ACCOUNT = "jwt-secret"
PROVIDERS: tuple[Provider, ...] = ("openai", "gemini")
PROVIDER_LABELS: dict[Provider, str] = {"openai": "OpenAI", "gemini": "Gemini"}
KEY_ENV_VARS: dict[Provider, str] = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}

KEYS_CHANGED_FILE = "keys-changed"
"""In the data dir: rewritten whenever ChatKit Desk stores or removes a key (see ``KeyCache``)."""

KeySource = Literal["environment", "keyring", "none"]


def _keyring() -> ModuleType:
    """The ``keyring`` package, imported on first use: loading it and discovering its backends
    costs ~13 MB, which an idle tray (that never reads a key) should not carry."""
    import keyring.errors

    return keyring


class KeyringUnavailable(Exception):
    """The keyring cannot be used; the message says why and what to do instead."""


@dataclass(frozen=True)
class KeyLookup:
    """The result of looking up a secret: the value (if any), where it came from, any problem."""

    value: str | None
    source: KeySource
    problem: str | None = None

    @property
    def found(self) -> bool:
        return self.value is not None


def _explain(exc: keyring.errors.KeyringError) -> str:
    keyring = _keyring()
    if isinstance(exc, keyring.errors.KeyringLocked):
        return "the system keyring is locked; unlock it (log in to your desktop session) and retry"
    if isinstance(exc, keyring.errors.NoKeyringError):
        return (
            "no system keyring is available (on Linux, install and start gnome-keyring or KWallet)"
        )
    return f"the system keyring failed ({type(exc).__name__})"


def backend_name() -> str:
    """A readable name of the keyring backend in use, for status displays."""
    keyring = _keyring()
    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def backend_warning() -> str | None:
    """Why the keyring in use is not a safe place for keys, or ``None`` when it is."""
    keyring = _keyring()
    backend = keyring.get_keyring()
    module = type(backend).__module__
    if module.startswith("keyring.backends.fail") or module.startswith("keyring.backends.null"):
        return "no usable system keyring: keys cannot be stored (use environment variables)"
    if module.startswith("keyrings.alt"):
        return "this keyring backend stores keys in a file, not in a protected system keyring"
    if getattr(backend, "priority", 1) <= 0:
        return "this keyring backend is not recommended for secrets"
    return None


def _read(account: str) -> KeyLookup:
    keyring = _keyring()
    try:
        value = keyring.get_password(SERVICE, account)
    except keyring.errors.KeyringError as exc:
        return KeyLookup(None, "none", _explain(exc))
    if value:
        return KeyLookup(value, "keyring")
    return KeyLookup(None, "none")


def provider_key(provider: Provider) -> KeyLookup:
    """The API key for ``provider``: its environment variable, else the keyring entry."""
    from_env = os.environ.get(KEY_ENV_VARS[provider], "").strip()
    if from_env:
        return KeyLookup(from_env, "environment")
    return _read(provider)


def set_provider_key(provider: Provider, key: str, *, data_dir: Path) -> None:
    """Store ``key``, and tell a server using ``data_dir`` to re-read it."""
    key = key.strip()
    if not key:
        raise ValueError("the key is empty")
    if any(ch.isspace() for ch in key):
        raise ValueError("the key contains spaces or line breaks; paste only the key itself")
    keyring = _keyring()
    try:
        keyring.set_password(SERVICE, provider, key)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(_explain(exc)) from None
    note_keys_changed(data_dir)


def delete_provider_key(provider: Provider, *, data_dir: Path) -> bool:
    """Remove the stored key; ``False`` when there was none."""
    keyring = _keyring()
    try:
        keyring.delete_password(SERVICE, provider)
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(_explain(exc)) from None
    note_keys_changed(data_dir)
    return True


def note_keys_changed(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / KEYS_CHANGED_FILE).write_text(_random.token_hex(8))


class KeyCache:
    """Provider keys for a long-running server: the keyring is read once, not on every turn.

    A keyring read is a round trip to the OS's secret store (about 19 ms to the Secret Service
    over D-Bus, measured here), which every chat turn and every ``/health`` poll used to pay.
    A cached key is read again after ChatKit Desk stores or removes a key (the settings window
    and ``chatkit-desk keys`` rewrite ``keys-changed`` in the data dir; checking it costs a
    small file read) and after the provider refuses it (``forget``), which covers a key changed
    in another keyring tool. Keys from environment variables are not cached (they cost
    nothing); nor are missing keys, so a locked keyring is tried again next time.
    """

    def __init__(self, data_dir: Path) -> None:
        self._marker = data_dir / KEYS_CHANGED_FILE
        self._seen = self._read_marker()
        self._found: dict[Provider, KeyLookup] = {}

    def _read_marker(self) -> str | None:
        try:
            return self._marker.read_text()
        except OSError:
            return None

    def lookup(self, provider: Provider) -> KeyLookup:
        marker = self._read_marker()
        if marker != self._seen:
            self._seen = marker
            self._found.clear()
        cached = self._found.get(provider)
        if cached is not None:
            return cached
        lookup = provider_key(provider)
        if lookup.source == "keyring":
            self._found[provider] = lookup
        return lookup

    def forget(self, provider: Provider) -> None:
        """Read ``provider``'s key again next time (the provider refused this one)."""
        self._found.pop(provider, None)


def jwt_secret(configured: str | None = None) -> KeyLookup:
    """The token signing secret: the configured one, else the keyring's, generated on first use.

    When the keyring cannot be used the lookup is not found and says why; the caller decides
    whether an ephemeral secret will do.
    """
    if configured:
        return KeyLookup(configured, "environment")
    stored = _read(JWT_SECRET_ACCOUNT)
    if stored.found or stored.problem:
        return stored
    generated = _random.token_urlsafe(48)
    keyring = _keyring()
    try:
        keyring.set_password(SERVICE, JWT_SECRET_ACCOUNT, generated)
    except keyring.errors.KeyringError as exc:
        return KeyLookup(None, "none", _explain(exc))
    return KeyLookup(generated, "keyring")
