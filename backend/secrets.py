"""Provider API keys and the token signing secret, kept in the OS keyring.

Environment variables win over the keyring (``OPENAI_API_KEY``, ``GEMINI_API_KEY``,
``CHATKIT_DESK_JWT_SECRET``). A keyring that is missing, locked or broken never crashes the
server: lookups report *why* there is no key, and the chat tells the user what to do. Where no
keyring can be used (a headless box), the signing secret is kept in a file in the data dir that
only its owner can read, the way Jupyter keeps its cookie secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the settings' model (pydantic) stays out of the idle tray
    from backend.settings import Provider

SERVICE = "chatkit-desk"
JWT_SECRET_ACCOUNT = "jwt-secret"
PROVIDERS: tuple[Provider, ...] = ("openai", "gemini")
PROVIDER_LABELS: dict[Provider, str] = {"openai": "OpenAI", "gemini": "Gemini"}
KEY_ENV_VARS: dict[Provider, str] = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}

KEYS_CHANGED_FILE = "keys-changed"
"""In the data dir: rewritten whenever ChatKit Desk stores or removes a key (see ``KeyCache``)."""

JWT_SECRET_FILE = "jwt-secret"
"""In the data dir, mode 0600: the signing secret where no keyring can keep it."""

KeySource = Literal["environment", "keyring", "file", "none"]


def random_token(length: int) -> str:
    """A URL-safe text of ``length`` random bytes. The standard library's ``secrets`` is imported
    here, not by the module: it loads OpenSSL's hashes (~4 MB) into the idle tray."""
    import secrets

    return secrets.token_urlsafe(length)


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


def _explain(exc: Exception) -> str:
    """Why the keyring could not be used. Besides keyring's errors, backends let their own
    through (secretstorage's D-Bus errors when the Secret Service does not answer)."""
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
    except Exception as exc:  # backends raise their own errors too (see _explain)
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
    except Exception as exc:  # backends raise their own errors too (see _explain)
        raise KeyringUnavailable(_explain(exc)) from None
    note_keys_changed(data_dir)


def delete_provider_key(provider: Provider, *, data_dir: Path) -> bool:
    """Remove the stored key; ``False`` when there was none."""
    keyring = _keyring()
    try:
        keyring.delete_password(SERVICE, provider)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:  # backends raise their own errors too (see _explain)
        raise KeyringUnavailable(_explain(exc)) from None
    note_keys_changed(data_dir)
    return True


def note_keys_changed(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / KEYS_CHANGED_FILE).write_text(random_token(8))


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


def jwt_secret(configured: str | None, data_dir: Path) -> KeyLookup:
    """The token signing secret: configured, else kept (and on first use generated) for good.

    Where it is kept: the file ``jwt-secret`` in the data dir once there is one, else the
    keyring; when the keyring cannot be used, a new file. The server, ``chatkit-desk token`` and
    the tray all call this, so they agree on one secret and tokens survive restarts. The
    lookup is not found (``problem`` says why) only when neither can be written.
    """
    if configured:
        return KeyLookup(configured, "environment")
    secret_file = data_dir / JWT_SECRET_FILE
    if kept := _read_secret_file(secret_file):
        return KeyLookup(kept, "file")
    stored = _read(JWT_SECRET_ACCOUNT)
    if stored.found:
        return stored
    generated = random_token(48)
    if stored.problem is None and _keyring_keeps(JWT_SECRET_ACCOUNT, generated):
        return KeyLookup(generated, "keyring")
    try:
        return KeyLookup(_create_secret_file(secret_file, generated), "file")
    except OSError as exc:
        reason = stored.problem or "the keyring refused to store it"
        return KeyLookup(None, "none", f"{reason}, and {secret_file} cannot be written ({exc})")


def _keyring_keeps(account: str, value: str) -> bool:
    """Store ``value`` and read it back: some backends (``null``) accept and keep nothing."""
    keyring = _keyring()
    try:
        keyring.set_password(SERVICE, account, value)
        return keyring.get_password(SERVICE, account) == value
    except Exception:  # a backend's own error too
        return False


def jwt_secret_whereabouts(configured: str | None, data_dir: Path) -> str:
    """Where the signing secret is kept, for ``keys status`` (never the secret; creates none)."""
    secret_file = data_dir / JWT_SECRET_FILE
    if configured:
        return "set by the environment variable CHATKIT_DESK_JWT_SECRET"
    if _read_secret_file(secret_file):
        return f"kept in {secret_file} (readable by you only)"
    stored = _read(JWT_SECRET_ACCOUNT)
    if stored.found:
        return "kept in the keyring"
    if stored.problem or backend_warning():
        return f"not made yet; it will be kept in {secret_file} (no usable keyring)"
    return "not made yet; it will be kept in the keyring"


def _read_secret_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _create_secret_file(path: Path, secret: str) -> str:
    """Write ``secret`` to ``path`` (owner-only) unless another process just did; return the
    secret that is in the file now, so processes starting together agree on one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{random_token(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secret)
    try:
        os.link(temporary, path)  # fails if the file appeared meanwhile: theirs wins
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return _read_secret_file(path) or secret
