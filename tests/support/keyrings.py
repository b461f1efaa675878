"""Keyring backends for tests only (the app never ships one that stores keys in a file).

``MemoryKeyring`` for in-process tests; ``FileKeyring`` for a server or CLI run as a child
process (select it with ``PYTHON_KEYRING_BACKEND=tests.support.keyrings.FileKeyring`` and point
``CHATKIT_DESK_TEST_KEYRING`` at a JSON file); ``LockedKeyring`` and ``NoKeyring`` fail the way
real ones do; ``BlockingKeyring`` keeps every call waiting, as an unlock prompt does.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class BlockingKeyring(MemoryKeyring):
    """Each call waits until the test sets ``released``, as a locked keyring's call waits until
    the user answers its unlock prompt; ``entered`` is set once a call is waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.released = threading.Event()

    def _wait(self) -> None:
        self.entered.set()
        if not self.released.wait(timeout=120):
            raise TimeoutError("the test never released the keyring")

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._wait()
        super().delete_password(service, username)


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ["CHATKIT_DESK_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        return json.loads(self._path.read_text()) if self._path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries[f"{service}/{username}"] = password
        self._path.write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        if entries.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._path.write_text(json.dumps(entries))


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the collection is locked")


class NoKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("No recommended backend was available.")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("No recommended backend was available.")

    def delete_password(self, service: str, username: str) -> None:
        raise NoKeyringError("No recommended backend was available.")


class BrokenKeyring(KeyringBackend):
    """A backend that lets its own error through, as secretstorage does when the Secret Service
    does not answer on D-Bus."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise TimeoutError("Failed to activate service 'org.freedesktop.secrets': timed out")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise TimeoutError("Failed to activate service 'org.freedesktop.secrets': timed out")

    def delete_password(self, service: str, username: str) -> None:
        raise TimeoutError("Failed to activate service 'org.freedesktop.secrets': timed out")
