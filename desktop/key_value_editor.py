"""Names and values (a tool server's ``env`` or ``headers``), the values masked like a key.

They often hold a token, so they are shown as dots until "Show values" is pressed, and never
logged. A ``${env:NAME}`` placeholder keeps the secret out of ``mcp.json``: the hint says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class KeyValueEditor(QWidget):
    def __init__(
        self, name_placeholder: str, value_placeholder: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._name_placeholder = name_placeholder
        self._value_placeholder = value_placeholder
        self.rows: list[tuple[QLineEdit, QLineEdit, QPushButton]] = []
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self.add_row())
        self.show_button = QPushButton("Show values")
        self.show_button.setCheckable(True)
        self.show_button.toggled.connect(self._toggle_shown)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.show_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._grid)
        layout.addLayout(buttons)

    def set_items(self, items: Mapping[str, str]) -> None:
        for name_edit, value_edit, remove in self.rows:
            for widget in (name_edit, value_edit, remove):
                widget.setParent(None)
                widget.deleteLater()
        self.rows = []
        for name, value in items.items():
            self.add_row(name, value)

    def add_row(self, name: str = "", value: str = "") -> None:
        name_edit = QLineEdit(name)
        name_edit.setPlaceholderText(self._name_placeholder)
        value_edit = QLineEdit(value)
        value_edit.setPlaceholderText(self._value_placeholder)
        value_edit.setEchoMode(self._echo_mode())
        remove = QPushButton("Remove")
        row = (name_edit, value_edit, remove)
        remove.clicked.connect(lambda: self._remove(row))
        line = self._grid.rowCount()
        self._grid.addWidget(name_edit, line, 0)
        self._grid.addWidget(value_edit, line, 1)
        self._grid.addWidget(remove, line, 2)
        self.rows.append(row)

    def items(self) -> dict[str, str]:
        """The rows that have a name (a later row wins over an earlier one of that name)."""
        return {
            name.text().strip(): value.text() for name, value, _ in self.rows if name.text().strip()
        }

    def unnamed_values(self) -> bool:
        """Whether a row has a value but no name (it would be lost)."""
        return any(value.text() and not name.text().strip() for name, value, _ in self.rows)

    def _remove(self, row: tuple[QLineEdit, QLineEdit, QPushButton]) -> None:
        self.rows.remove(row)
        for widget in row:
            self._grid.removeWidget(widget)
            widget.setParent(None)
            widget.deleteLater()

    def _echo_mode(self) -> QLineEdit.EchoMode:
        shown = self.show_button.isChecked()
        return QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password

    @Slot(bool)
    def _toggle_shown(self, shown: bool) -> None:
        for _, value, _ in self.rows:
            value.setEchoMode(self._echo_mode())
        self.show_button.setText("Hide values" if shown else "Show values")
