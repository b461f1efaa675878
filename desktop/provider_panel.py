"""One provider's part of the settings window: its API key (write-only), "Test", and its model.

The keyring is asked through ``keyring_thread``: the panel says so while it waits.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Slot
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
from backend.secrets import KeyCache, KeyLookup, KeyringUnavailable
from backend.settings import Provider
from desktop import keyring_thread
from desktop.field_error import FieldError
from desktop.key_check import KeyCheck, KeyCheckResult
from desktop.style import restyle

READING = "Reading the keyring…"


def stored_key_text(provider: Provider, lookup: KeyLookup) -> str:
    """Where the key the server will use comes from — never the key itself."""
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


def _as_lookup(answer: KeyLookup | KeyringUnavailable) -> KeyLookup:
    if isinstance(answer, KeyringUnavailable):
        return KeyLookup(None, "none", str(answer))
    return answer


class ProviderPanel(QGroupBox):
    """The key field never shows a stored key: it starts empty, and empty means "keep it".

    ``keys`` is shared with the other panel and used on the keyring thread only.
    """

    def __init__(
        self, provider: Provider, data_dir: Path, keys: KeyCache, parent: QWidget | None = None
    ) -> None:
        self.provider = provider
        self._data_dir = data_dir
        self._keys = keys
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
        """Say where the key comes from, once the keyring has answered."""
        self.stored_label.setText(READING)
        self.remove_button.setEnabled(False)
        keyring_thread.ask(partial(self._keys.lookup, self.provider), self._show_stored)

    @Slot(object)
    def _show_stored(self, answer: KeyLookup | KeyringUnavailable) -> None:
        lookup = _as_lookup(answer)
        self.stored_label.setText(stored_key_text(self.provider, lookup))
        self.remove_button.setEnabled(lookup.source == "keyring")

    @property
    def typed_key(self) -> str:
        return self.key_edit.text().strip()

    @property
    def model(self) -> str:
        return self.model_combo.currentText().strip()

    def set_model(self, model: str) -> None:
        self.model_combo.setCurrentText(model)

    @Slot()
    def test_key(self) -> None:
        """Check the typed key, or else the stored one (read from the keyring first)."""
        self.test_button.setEnabled(False)
        if self.typed_key:
            self._check_key(self.typed_key)
            return
        self._show_progress("Reading the stored key from the keyring…")
        keyring_thread.ask(partial(self._keys.lookup, self.provider), self._test_stored)

    @Slot(object)
    def _test_stored(self, answer: KeyLookup | KeyringUnavailable) -> None:
        lookup = _as_lookup(answer)
        if lookup.value:
            self._check_key(lookup.value)
        elif lookup.problem:
            self._show_result(KeyCheckResult(False, f"No key can be read: {lookup.problem}."))
        else:
            self._show_result(KeyCheckResult(False, "Paste a key first, then test it."))

    def _check_key(self, key: str) -> None:
        self._show_progress(f"Asking {self.label}…")
        self._check.start(self._base_url, key)

    def _show_progress(self, text: str) -> None:
        self.test_result.setText(text)
        self.test_result.setProperty("role", "hint")
        restyle(self.test_result)
        self.test_result.show()

    @Slot(KeyCheckResult)
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

    @Slot()
    def _remove_key(self) -> None:
        self.remove_button.setEnabled(False)
        self.key_error.clear_message()
        self.stored_label.setText("Removing the key from the keyring…")
        remove = partial(secrets.delete_provider_key, self.provider, data_dir=self._data_dir)
        keyring_thread.ask(remove, self._removed)

    @Slot(object)
    def _removed(self, answer: bool | KeyringUnavailable) -> None:
        if isinstance(answer, KeyringUnavailable):
            self.key_error.show_message(str(answer))
        self.refresh_stored()

    @Slot(bool)
    def _toggle_shown(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.key_edit.setEchoMode(mode)
        self.show_button.setText("Hide" if shown else "Show")
