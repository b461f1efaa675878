"""One provider's part of the settings window: its API key (write-only), "Test", and its model."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from backend import secrets
from backend.settings import Provider
from desktop.field_error import FieldError
from desktop.key_check import KeyCheck, KeyCheckResult
from desktop.style import restyle


def stored_key_text(provider: Provider) -> str:
    """Where the key the server will use comes from — never the key itself."""
    lookup = secrets.provider_key(provider)
    if lookup.source == "environment":
        return (
            f"Set by the environment variable {secrets.KEY_ENV_VARS[provider]}, which wins over "
            "a key saved here."
        )
    if lookup.found:
        return "A key is stored in the keyring. Type a new one to replace it."
    if lookup.problem:
        return f"No key can be read: {lookup.problem}."
    return "No key is stored yet."


class ProviderPanel(QGroupBox):
    """The key field never shows a stored key: it starts empty, and empty means "keep it"."""

    def __init__(self, provider: Provider, data_dir: Path, parent: QWidget | None = None) -> None:
        self.provider = provider
        self._data_dir = data_dir
        self.label = secrets.PROVIDER_LABELS[provider]
        super().__init__(self.label, parent)
        self._base_url = ""

        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText(f"Paste a new {self.label} API key")
        self.key_edit.setClearButtonEnabled(True)
        self.show_button = QPushButton("Show")
        self.show_button.setCheckable(True)
        self.show_button.toggled.connect(self._toggle_shown)
        self.test_button = QPushButton("Test")
        self.test_button.setToolTip(f"Ask {self.label} for its model list with this key")
        self.test_button.clicked.connect(self.test_key)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the stored key from the keyring")
        self.remove_button.clicked.connect(self._remove_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        for button in (self.show_button, self.test_button, self.remove_button):
            key_row.addWidget(button)

        self.stored_label = QLabel()
        self.stored_label.setWordWrap(True)
        self.stored_label.setProperty("role", "hint")
        self.key_error = FieldError()
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.test_result.hide()

        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_combo.setToolTip("Pick from the list (fill it with Test) or type a model name")
        self.model_error = FieldError()

        form = QFormLayout(self)
        form.addRow("API key", key_row)
        form.addRow("", self.stored_label)
        form.addRow("", self.key_error)
        form.addRow("", self.test_result)
        form.addRow("Model", self.model_combo)
        form.addRow("", self.model_error)

        self._check = KeyCheck(self.label, self)
        self._check.finished.connect(self._show_result)

    def load(self, model: str, base_url: str) -> None:
        self._base_url = base_url
        self.key_edit.clear()
        self.set_model(model)
        self.refresh_stored()

    def refresh_stored(self) -> None:
        self.stored_label.setText(stored_key_text(self.provider))
        self.remove_button.setEnabled(secrets.provider_key(self.provider).source == "keyring")

    @property
    def typed_key(self) -> str:
        return self.key_edit.text().strip()

    @property
    def model(self) -> str:
        return self.model_combo.currentText().strip()

    def set_model(self, model: str) -> None:
        self.model_combo.setCurrentText(model)

    def test_key(self) -> None:
        key = self.typed_key or secrets.provider_key(self.provider).value
        if not key:
            self._show_result(KeyCheckResult(False, "Paste a key first, then test it."))
            return
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Asking {self.label}…")
        self.test_result.setProperty("role", "hint")
        restyle(self.test_result)
        self.test_result.show()
        self._check.start(self._base_url, key)

    def _show_result(self, result: KeyCheckResult) -> None:
        self.test_button.setEnabled(True)
        mark = "✓" if result.works else "✗"
        self.test_result.setText(f"{mark} {result.message}")
        self.test_result.setProperty("role", "ok" if result.works else "error")
        restyle(self.test_result)
        self.test_result.show()
        if result.models:
            current = self.model
            self.model_combo.clear()
            self.model_combo.addItems(result.models)
            self.set_model(current)

    def _remove_key(self) -> None:
        try:
            secrets.delete_provider_key(self.provider, data_dir=self._data_dir)
        except secrets.KeyringUnavailable as exc:
            self.key_error.show_message(str(exc))
        self.refresh_stored()

    def _toggle_shown(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.key_edit.setEchoMode(mode)
        self.show_button.setText("Hide" if shown else "Show")
