"""The settings window: provider, keys, models, instructions, port and origins, tool servers.

Save checks everything first and shows each problem under its field; nothing is written until
all of it is valid. Keys go to the keyring, the rest to ``settings.json`` (which the running
server re-reads on every turn), and only a new host or port restarts the server. The Tools tab
is the exception: it writes ``mcp.json`` as soon as a server changes (``desktop.tools_tab``).
The keyring is used through ``keyring_thread``, as it may take a while: the form waits,
disabled, while Save writes to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from backend import secrets
from backend.secrets import KeyringUnavailable
from backend.settings import (
    DEFAULT_INSTRUCTIONS,
    Provider,
    Settings,
    SettingsError,
    field_errors,
    load_settings,
    read_settings_file,
    save_settings_file,
)
from backend.supervision import port_is_free
from desktop import keyring_thread
from desktop.autostart import Autostart
from desktop.commands import CommandFailed, DeskCommands
from desktop.field_error import FieldError
from desktop.icons import app_icon
from desktop.keyring_note import KeyringNote
from desktop.provider_panel import ProviderPanel
from desktop.reasoning_panel import ReasoningPanel, checked_steps
from desktop.status_panel import StatusPanel
from desktop.style import STYLE_SHEET, restyle
from desktop.supervisor import ServerSupervisor
from desktop.tools_tab import ToolsTab

RESTART_FIELDS = ("host", "port")
WEB_CLIENTS = (
    ("auto", "ChatKit.js when it loads, else the built-in client"),
    ("builtin", "Always the built-in client"),
)


@dataclass(frozen=True)
class StoredKeys:
    """What ``store_keys`` did: the keys it stored, and the first it could not store and why."""

    saved: list[Provider] = field(default_factory=list)
    failed: Provider | None = None
    problem: str = ""


def store_keys(keys: dict[Provider, str], data_dir: Path) -> StoredKeys:
    """Store each key in turn, up to the first the keyring refuses (the others would fail too)."""
    saved: list[Provider] = []
    for provider, key in keys.items():
        try:
            secrets.set_provider_key(provider, key, data_dir=data_dir)
        except (ValueError, KeyringUnavailable) as exc:
            return StoredKeys(saved, provider, str(exc))
        saved.append(provider)
    return StoredKeys(saved)


def _scrolling(page: QWidget) -> QScrollArea:
    """A tab that scrolls rather than squeezes its rows on a small screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(page)
    return area


@dataclass(frozen=True)
class _Saving:
    """A save under way: the settings before it, and the changes to write once the keys are in."""

    before: Settings
    changes: dict[str, Any]


class SettingsWindow(QWidget):
    save_finished = Signal(bool)
    """After ``save()`` has begun writing: whether everything was written."""

    def __init__(
        self,
        supervisor: ServerSupervisor,
        commands: DeskCommands,
        autostart: Autostart,
        autostart_command: list[str],
        no_tray_reason: str | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("ChatKit Desk — Settings")
        self.setWindowIcon(app_icon())
        self.setStyleSheet(STYLE_SHEET)
        self.data_dir: Path = commands.data_dir
        self._supervisor = supervisor
        self._commands = commands
        self._autostart = autostart
        self._autostart_command = autostart_command
        self._quit_on_close = no_tray_reason is not None
        self._settings = Settings.model_validate({"data_dir": self.data_dir})
        self._keys = secrets.KeyCache(self.data_dir)
        self._saving: _Saving | None = None

        self.status_panel = StatusPanel(supervisor, self._open_chat)
        self.notice = QLabel(no_tray_reason or "")
        self.notice.setWordWrap(True)
        self.notice.setProperty("role", "warning")
        self.notice.setVisible(no_tray_reason is not None)
        self.load_problem = FieldError()

        self.tabs = QTabWidget()
        self.tabs.addTab(self._provider_tab(), "Provider")
        self.tabs.addTab(self._instructions_tab(), "Instructions")
        self.tabs.addTab(self._server_tab(), "Server")
        self.tools_tab = ToolsTab(
            self.data_dir, lambda: self._settings.mcp_config_file, supervisor, commands
        )
        self.tabs.addTab(self.tools_tab, "Tools")

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.status_panel)
        layout.addWidget(self.notice)
        layout.addWidget(self.load_problem)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(bottom)
        self.resize(660, 680)
        self.load()

    # Building the tabs

    def _provider_tab(self) -> QWidget:
        self.provider_combo = QComboBox()
        for provider in secrets.PROVIDERS:
            self.provider_combo.addItem(secrets.PROVIDER_LABELS[provider], provider)
        self.panels = {
            provider: ProviderPanel(provider, self.data_dir, self._keys)
            for provider in secrets.PROVIDERS
        }
        self.keyring_note = KeyringNote()
        self.reasoning_panel = ReasoningPanel()

        tab = QWidget()
        layout = QVBoxLayout(tab)
        chooser = QFormLayout()
        chooser.addRow("Chat with", self.provider_combo)
        layout.addLayout(chooser)
        for panel in self.panels.values():
            layout.addWidget(panel)
        layout.addWidget(self.keyring_note)
        layout.addWidget(self.reasoning_panel)
        layout.addStretch(1)
        return _scrolling(tab)

    def _instructions_tab(self) -> QWidget:
        self.instructions_edit = QPlainTextEdit()
        self.instructions_edit.setPlaceholderText("What the agent is told before every chat")
        self.reset_instructions_button = QPushButton("Reset to default")
        self.reset_instructions_button.clicked.connect(
            lambda: self.instructions_edit.setPlainText(DEFAULT_INSTRUCTIONS)
        )
        self.instructions_error = FieldError()
        hint = QLabel(
            "The agent's instructions, sent with every message. A change applies from the next "
            "message on."
        )
        hint.setWordWrap(True)
        hint.setProperty("role", "hint")

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addWidget(hint)
        layout.addWidget(self.instructions_edit, 1)
        layout.addWidget(self.instructions_error)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reset_instructions_button)
        layout.addLayout(row)
        return tab

    def _server_tab(self) -> QWidget:
        self.port_edit = QLineEdit()
        self.port_edit.setMaximumWidth(120)
        self.port_error = FieldError()
        self.origins_edit = QPlainTextEdit()
        self.origins_edit.setPlaceholderText("http://localhost:5173")
        self.origins_edit.setMaximumHeight(90)
        self.origins_error = FieldError()
        origins_hint = QLabel(
            "One per line. Frontends on these origins may call the server; its own page always can."
        )
        origins_hint.setWordWrap(True)
        origins_hint.setProperty("role", "hint")
        self.web_client_combo = QComboBox()
        for value, label in WEB_CLIENTS:
            self.web_client_combo.addItem(label, value)
        self.starts_server_check = QCheckBox("Start the server when the app starts")
        self.autostart_check = QCheckBox("Start ChatKit Desk when I log in")
        self.autostart_check.toggled.connect(self._set_autostart)
        self.autostart_error = FieldError()

        tab = QWidget()
        form = QFormLayout(tab)
        form.addRow("Port", self.port_edit)
        form.addRow("", self.port_error)
        form.addRow("Extra allowed origins", self.origins_edit)
        form.addRow("", origins_hint)
        form.addRow("", self.origins_error)
        form.addRow("Built-in chat page", self.web_client_combo)
        form.addRow("", self.starts_server_check)
        form.addRow("", self.autostart_check)
        form.addRow("", self.autostart_error)
        return tab

    # Showing the current settings

    def load(self) -> None:
        """Fill every field from the current settings; key fields start empty."""
        try:
            self._settings = load_settings(self.data_dir)
            self.load_problem.clear_message()
        except SettingsError as exc:
            self.load_problem.show_message(f"The current settings cannot be used: {exc}")
            self._settings = Settings.model_validate({"data_dir": self.data_dir})
        settings = self._settings
        self.provider_combo.setCurrentIndex(self.provider_combo.findData(settings.provider))
        self.panels["openai"].load(settings.openai_model, settings.openai_base_url)
        self.panels["gemini"].load(settings.gemini_model, settings.gemini_base_url)
        self.reasoning_panel.load(
            settings.reasoning_effort, settings.reasoning_summary, settings.max_tool_steps
        )
        self.instructions_edit.setPlainText(settings.instructions)
        self.port_edit.setText(str(settings.port))
        self.origins_edit.setPlainText("\n".join(settings.allowed_origins))
        self.web_client_combo.setCurrentIndex(self.web_client_combo.findData(settings.web_client))
        self.starts_server_check.setChecked(settings.tray_starts_server)
        self.autostart_check.blockSignals(True)
        self.autostart_check.setChecked(self._autostart.is_enabled())
        self.autostart_check.blockSignals(False)
        self.keyring_note.refresh()
        self.tools_tab.load()
        self._clear_errors()
        self.message.clear()

    def show_and_raise(self) -> None:
        """Bring the window forward; a hidden window is refreshed first, a shown one kept as is."""
        if not self.isVisible():
            self.load()
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    # Saving

    def form_values(self) -> dict[str, Any]:
        """What the fields say, as settings (the port as typed: it is checked on Save)."""
        origins = [
            line.strip().rstrip("/")
            for line in self.origins_edit.toPlainText().splitlines()
            if line.strip()
        ]
        return {
            "provider": self.provider_combo.currentData(),
            "openai_model": self.panels["openai"].model,
            "gemini_model": self.panels["gemini"].model,
            "instructions": self.instructions_edit.toPlainText().strip(),
            "port": self.port_edit.text().strip(),
            "allowed_origins": origins,
            "web_client": self.web_client_combo.currentData(),
            "tray_starts_server": self.starts_server_check.isChecked(),
            **self.reasoning_panel.values(),
        }

    @Slot()
    def save(self) -> bool:
        """Check every field, then write the keys to the keyring and the rest to the settings.

        ``False`` when anything is invalid: each problem is shown under its field and nothing
        is written. Else ``True``: the keys are being written (the form is disabled meanwhile),
        and ``save_finished`` tells how it ended.
        """
        if self._saving is not None:
            return False
        self._clear_errors()
        self.message.clear()
        values = self.form_values()
        errors = self._validate(values)
        if errors:
            self._show_errors(errors)
            return False
        changes = {
            name: value for name, value in values.items() if value != getattr(self._settings, name)
        }
        keys = {name: panel.typed_key for name, panel in self.panels.items() if panel.typed_key}
        self._saving = _Saving(self._settings, changes)
        self.tabs.setEnabled(False)
        self.save_button.setEnabled(False)
        if keys:
            self._say("hint", "Saving the keys in the keyring (it may ask you to unlock it)…")
            keyring_thread.ask(partial(store_keys, keys, self.data_dir), self._keys_stored)
        else:
            self._keys_stored(StoredKeys())
        return True

    @Slot(object)
    def _keys_stored(self, answer: StoredKeys | KeyringUnavailable) -> None:
        """The keys are in (or not): write the settings, unless a key could not be stored."""
        assert self._saving is not None
        saving, self._saving = self._saving, None
        self.tabs.setEnabled(True)
        self.save_button.setEnabled(True)
        if isinstance(answer, KeyringUnavailable):
            self._say("error", f"Not saved: {answer}")
            self.save_finished.emit(False)
            return
        labels = [secrets.PROVIDER_LABELS[provider] for provider in answer.saved]
        if answer.failed is not None:
            for provider in answer.saved:
                self.panels[provider].key_edit.clear()
                self.panels[provider].refresh_stored()
            self.panels[answer.failed].key_error.show_message(answer.problem)
            self.tabs.setCurrentIndex(0)
            kept = f" The {' and '.join(labels)} key was saved." if labels else ""
            label = secrets.PROVIDER_LABELS[answer.failed]
            self._say("error", f"Not saved: the keyring did not take the {label} key.{kept}")
            self.save_finished.emit(False)
            return
        try:
            if saving.changes:
                save_settings_file(self.data_dir, saving.changes)
        except (ValueError, SettingsError) as exc:
            self._say("error", f"Not saved: {exc}")
            self.save_finished.emit(False)
            return
        self.load()
        self._report_saved(saving.before, saving.changes, labels)
        self.save_finished.emit(True)

    def _validate(self, values: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        port_text = values["port"]
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            errors["port"] = "The port must be a whole number from 1 to 65535, e.g. 8765."
        else:
            values["port"] = int(port_text)
            if values["port"] != self._settings.port and not port_is_free(
                self._settings.host, values["port"]
            ):
                errors["port"] = (
                    f"Port {values['port']} is in use by another program; choose another."
                )
        steps = checked_steps(values["max_tool_steps"])
        if isinstance(steps, str):
            errors["max_tool_steps"] = steps
        else:
            values["max_tool_steps"] = steps
        if not values["instructions"]:
            errors["instructions"] = "The instructions cannot be empty (Reset to default?)."
        for provider in secrets.PROVIDERS:
            if not values[f"{provider}_model"]:
                errors[f"{provider}_model"] = "Choose a model from the list or type its name."
            key = self.panels[provider].typed_key
            if any(ch.isspace() for ch in key):
                errors[f"{provider}_key"] = (
                    "The key contains spaces or line breaks; paste only the key itself."
                )
        # the rest of the checks are the settings' own; fields already in error keep their value
        checked = {
            name: getattr(self._settings, name) if name in errors else value
            for name, value in values.items()
        }
        try:
            merged = {**read_settings_file(self.data_dir), **checked}
            Settings.model_validate({**merged, "data_dir": self.data_dir})
        except SettingsError as exc:
            errors["settings_file"] = str(exc)
        except ValidationError as exc:
            for field, message in field_errors(exc):
                errors.setdefault(field or "settings_file", message[:1].upper() + message[1:] + ".")
        return errors

    def _report_saved(self, before: Settings, changes: dict[str, Any], keys: list[str]) -> None:
        after = self._settings
        notes = []
        overridden = [name for name, value in changes.items() if getattr(after, name) != value]
        if overridden:
            names = ", ".join(f"CHATKIT_DESK_{name.upper()}" for name in overridden)
            notes.append(f"The environment sets {names}, which wins over what you saved.")
        if keys:
            notes.append(f"{' and '.join(keys)} key saved in the keyring.")
        moved = any(getattr(before, name) != getattr(after, name) for name in RESTART_FIELDS)
        if moved and self._supervisor.is_active:
            self._supervisor.restart()
            notes.append(f"The server is restarting on port {after.port}.")
        elif changes or keys:
            notes.append("Changes apply from the next message; the server keeps running.")
        else:
            notes.append("Nothing changed.")
        self._say("ok", "Saved. " + " ".join(notes))

    def _say(self, role: str, text: str) -> None:
        self.message.setProperty("role", role)
        self.message.setText(text)
        restyle(self.message)

    # Inline errors

    def _error_fields(self) -> dict[str, tuple[FieldError, int]]:
        """Each setting's error label and the tab it is on."""
        return {
            "openai_key": (self.panels["openai"].key_error, 0),
            "gemini_key": (self.panels["gemini"].key_error, 0),
            "openai_model": (self.panels["openai"].model_error, 0),
            "gemini_model": (self.panels["gemini"].model_error, 0),
            "max_tool_steps": (self.reasoning_panel.steps_error, 0),
            "instructions": (self.instructions_error, 1),
            "port": (self.port_error, 2),
            "allowed_origins": (self.origins_error, 2),
        }

    def _show_errors(self, errors: dict[str, str]) -> None:
        fields = self._error_fields()
        first_tab = None
        for name, message in errors.items():
            if name in fields:
                label, tab = fields[name]
                label.show_message(message)
                first_tab = tab if first_tab is None else min(first_tab, tab)
            else:
                self.load_problem.show_message(message)
        if first_tab is not None:
            self.tabs.setCurrentIndex(first_tab)
        self._say("error", "Not saved: fix the fields marked in red.")

    def _clear_errors(self) -> None:
        for label, _tab in self._error_fields().values():
            label.clear_message()

    # Everything else

    @Slot()
    def _open_chat(self) -> None:
        self._say("hint", "Signing you in…")
        self._commands.open_chat(self._chat_opened)

    @Slot(object)
    def _chat_opened(self, outcome: str | CommandFailed) -> None:
        if isinstance(outcome, CommandFailed):
            self._say("error", f"Could not open the chat: {outcome}")
        else:
            self._say("ok", outcome)

    @Slot(bool)
    def _set_autostart(self, enabled: bool) -> None:
        self.autostart_error.clear_message()
        try:
            if enabled:
                self._autostart.enable(self._autostart_command)
            else:
                self._autostart.disable()
        except OSError as exc:
            self.autostart_error.show_message(f"Could not change the login item: {exc}")

    def closeEvent(self, event: QCloseEvent) -> None:
        """Without a tray this window is the app: closing it quits (and stops the server)."""
        event.accept()
        if self._quit_on_close:
            QApplication.quit()
