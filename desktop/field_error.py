"""An inline error under a field: hidden until there is something to say."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


class FieldError(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setProperty("role", "error")
        self.hide()

    def show_message(self, message: str) -> None:
        self.setText(message)
        self.setVisible(bool(message))

    def clear_message(self) -> None:
        self.show_message("")
