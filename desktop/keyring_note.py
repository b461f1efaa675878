"""Under the keys in the settings window: which keyring keeps them, and whether that is safe."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from backend import secrets
from backend.secrets import KeyringUnavailable
from desktop import keyring_thread
from desktop.provider_panel import READING


@dataclass(frozen=True)
class KeyringBackend:
    name: str
    warning: str | None


def read_backend() -> KeyringBackend:
    """Finding the backend may ask the system (D-Bus on Linux): on the keyring thread."""
    return KeyringBackend(secrets.backend_name(), secrets.backend_warning())


class KeyringNote(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_label = QLabel()
        self.name_label.setWordWrap(True)
        self.name_label.setProperty("role", "hint")
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setProperty("role", "warning")
        self.warning_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name_label)
        layout.addWidget(self.warning_label)

    def refresh(self) -> None:
        self.name_label.setText(READING)
        keyring_thread.ask(read_backend, self._show)

    @Slot(object)
    def _show(self, answer: KeyringBackend | KeyringUnavailable) -> None:
        if isinstance(answer, KeyringUnavailable):
            answer = KeyringBackend("unknown", str(answer))
        self.name_label.setText(f"Keys are kept in the keyring: {answer.name}.")
        self.warning_label.setText(f"Warning: {answer.warning}." if answer.warning else "")
        self.warning_label.setVisible(answer.warning is not None)
