"""Add or edit one tool server: a local command (command, args, env, cwd) or a remote URL (url,
transport, headers), and ChatKit Desk's own keys (tools offered, approval, timeout, on/off).

The entry is written in Claude Desktop's shape, so the file still works there, and keeps the
keys the form does not know (another app's) where they were. It is checked by
``parse_mcp_config``, the running server's own rules, and each problem is shown under its
field; the dialog writes nothing itself — the Tools tab does, once it is accepted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from backend.tools import config_file
from backend.tools.config import DEFAULT_TIMEOUT_SECONDS, McpConfigError
from desktop.field_error import FieldError
from desktop.key_value_editor import KeyValueEditor
from desktop.style import STYLE_SHEET
from desktop.tool_check import CheckResult, CheckResultView, ToolCheck

LOCAL, REMOTE = "local", "remote"
OWNED_KEYS = (
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "transport",
    "type",
    "headers",
    "enabled",
    "allowedTools",
    "requireApproval",
    "timeout",
)
"""What the form sets; every other key of an entry is kept as it was."""
SECRET_HINT = (
    "Values are kept in mcp.json as typed. Write ${env:NAME} to take one from the environment "
    "ChatKit Desk runs in instead, which keeps the secret out of the file."
)
_FIELD = re.compile(r'server "[^"]*": "([A-Za-z]+)')


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", text) if word]


class ToolServerDialog(QDialog):
    def __init__(
        self,
        data_dir: Path,
        taken: Collection[str],
        name: str | None = None,
        entry: Mapping[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``taken``: the names of the other servers; ``name`` and ``entry``: the one edited."""
        super().__init__(parent)
        self.setWindowTitle(f"Tool server {name}" if name else "Add a tool server")
        self.setStyleSheet(STYLE_SHEET)
        self._taken = set(taken)
        self._original: dict[str, Any] = dict(entry or {})

        self.name_edit = QLineEdit(name or "")
        self.name_edit.setPlaceholderText("files")
        self.name_error = FieldError()
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("Local command (stdio)", LOCAL)
        self.kind_combo.addItem("Remote server (URL)", REMOTE)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._local_page())
        self.pages.addWidget(self._remote_page())
        self.kind_combo.currentIndexChanged.connect(self.pages.setCurrentIndex)
        secret_hint = QLabel(SECRET_HINT)
        secret_hint.setWordWrap(True)
        secret_hint.setProperty("role", "hint")

        self.allowed_edit = QLineEdit()
        self.allowed_edit.setPlaceholderText("all the tools it offers")
        self.allowed_error = FieldError()
        self.approval_combo = QComboBox()
        self.approval_combo.addItem("Always ask", "always")
        self.approval_combo.addItem("Never ask", "never")
        self.approval_combo.addItem("Ask for these tools:", "some")
        self.approval_tools_edit = QLineEdit()
        self.approval_tools_edit.setPlaceholderText("write_file, delete_file")
        self.approval_combo.currentIndexChanged.connect(self._approval_changed)
        self.approval_error = FieldError()
        self.timeout_edit = QLineEdit()
        self.timeout_edit.setPlaceholderText(f"{DEFAULT_TIMEOUT_SECONDS:g}")
        self.timeout_edit.setMaximumWidth(120)
        self.timeout_error = FieldError()
        self.enabled_check = QCheckBox("Turned on (its tools are offered to the model)")

        self.check_button = QPushButton("Connect and list tools")
        self.check_button.clicked.connect(self.check)
        self.check_view = CheckResultView()
        self._check = ToolCheck(data_dir, self)
        self._check.finished.connect(self._checked)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("", self.name_error)
        form.addRow("Kind", self.kind_combo)
        form.addRow(self.pages)
        form.addRow("", secret_hint)
        form.addRow("Offer only", self.allowed_edit)
        form.addRow("", self.allowed_error)
        form.addRow("Approval", self.approval_combo)
        form.addRow("", self.approval_tools_edit)
        form.addRow("", self.approval_error)
        form.addRow("Timeout per call (s)", self.timeout_edit)
        form.addRow("", self.timeout_error)
        form.addRow("", self.enabled_check)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.check_button)
        layout.addWidget(self.check_view)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(620, 640)
        self._load(self._original)

    def _local_page(self) -> QWidget:
        self.command_edit = QLineEdit()
        self.command_edit.setPlaceholderText("npx")
        self.command_error = FieldError()
        self.args_edit = QPlainTextEdit()
        self.args_edit.setPlaceholderText(
            "-y\n@modelcontextprotocol/server-filesystem\n/home/me/Documents"
        )
        self.args_edit.setToolTip("One argument per line")
        self.args_edit.setMaximumHeight(90)
        self.args_error = FieldError()
        self.cwd_edit = QLineEdit()
        self.cwd_edit.setPlaceholderText("(optional) the folder it starts in")
        self.cwd_error = FieldError()
        self.env_editor = KeyValueEditor("NAME", "value or ${env:NAME}")
        self.env_error = FieldError()
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Command", self.command_edit)
        form.addRow("", self.command_error)
        form.addRow("Arguments", self.args_edit)
        form.addRow("", self.args_error)
        form.addRow("Working folder", self.cwd_edit)
        form.addRow("", self.cwd_error)
        form.addRow("Environment", self.env_editor)
        form.addRow("", self.env_error)
        return page

    def _remote_page(self) -> QWidget:
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://example.com/mcp")
        self.url_error = FieldError()
        self.transport_combo = QComboBox()
        self.transport_combo.addItem("Streamable HTTP", "streamable-http")
        self.transport_combo.addItem("SSE (older servers)", "sse")
        self.headers_editor = KeyValueEditor("Header", "value or ${env:NAME}")
        self.headers_error = FieldError()
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("URL", self.url_edit)
        form.addRow("", self.url_error)
        form.addRow("Transport", self.transport_combo)
        form.addRow("Headers", self.headers_editor)
        form.addRow("", self.headers_error)
        return page

    def _load(self, entry: Mapping[str, Any]) -> None:
        remote = "url" in entry
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(REMOTE if remote else LOCAL))
        self.pages.setCurrentIndex(self.kind_combo.currentIndex())
        self.command_edit.setText(str(entry.get("command") or ""))
        self.args_edit.setPlainText("\n".join(map(str, entry.get("args") or [])))
        self.cwd_edit.setText(str(entry.get("cwd") or ""))
        self.env_editor.set_items(dict(entry.get("env") or {}))
        self.url_edit.setText(str(entry.get("url") or ""))
        sse = entry.get("transport", entry.get("type")) == "sse"
        self.transport_combo.setCurrentIndex(1 if sse else 0)
        self.headers_editor.set_items(dict(entry.get("headers") or {}))
        allowed = entry.get("allowedTools")
        self.allowed_edit.setText(", ".join(map(str, allowed)) if allowed else "")
        approval = entry.get("requireApproval", "always")
        if isinstance(approval, list):
            self.approval_combo.setCurrentIndex(2)
            self.approval_tools_edit.setText(", ".join(map(str, approval)))
        else:
            self.approval_combo.setCurrentIndex(max(self.approval_combo.findData(approval), 0))
        self._approval_changed()
        timeout = entry.get("timeout")
        self.timeout_edit.setText("" if timeout is None else f"{timeout:g}")
        enabled = entry.get("enabled", not entry.get("disabled", False))
        self.enabled_check.setChecked(enabled is not False)

    # What the form says

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def kind(self) -> str:
        return self.kind_combo.currentData()

    def entry(self) -> dict[str, Any]:
        """The server's entry: Claude Desktop's keys, then ours where they differ from the
        default (or the entry had them), the keys the form does not know kept in place."""
        original = self._original
        ours: dict[str, Any] = {}
        if self.kind == LOCAL:
            ours["command"] = self.command_edit.text().strip()
            ours["args"] = [
                line.strip() for line in self.args_edit.toPlainText().splitlines() if line.strip()
            ]
            if env := self.env_editor.items():
                ours["env"] = env
            if cwd := self.cwd_edit.text().strip():
                ours["cwd"] = cwd
            if "type" in original:
                ours["type"] = "stdio"
        else:
            ours["url"] = self.url_edit.text().strip()
            sse = self.transport_combo.currentData() == "sse"
            if "type" in original:
                ours["type"] = "sse" if sse else "http"
            elif sse or "transport" in original:
                ours["transport"] = self.transport_combo.currentData()
            if headers := self.headers_editor.items():
                ours["headers"] = headers
        if not self.enabled_check.isChecked() or "enabled" in original:
            ours["enabled"] = self.enabled_check.isChecked()
        if allowed := _words(self.allowed_edit.text()):
            ours["allowedTools"] = allowed
        approval = self._approval()
        if approval != "always" or "requireApproval" in original:
            ours["requireApproval"] = approval
        timeout = self.timeout_edit.text().strip()
        if timeout:
            ours["timeout"] = _number(timeout)
        entry: dict[str, Any] = {}
        for key, value in original.items():
            if key not in OWNED_KEYS:
                entry[key] = value
            elif key in ours:
                entry[key] = ours.pop(key)
        if "disabled" in entry:  # Cline's key, kept in step with ours
            entry["disabled"] = not self.enabled_check.isChecked()
        return {**entry, **ours}

    def _approval(self) -> str | list[str]:
        choice = self.approval_combo.currentData()
        return _words(self.approval_tools_edit.text()) if choice == "some" else choice

    # Checking

    def validate(self) -> bool:
        """Show each problem under its field; whether there is none."""
        errors = self._errors()
        labels = self._error_labels()
        for label in labels.values():
            label.clear_message()
        for field_name, message in errors.items():
            labels[field_name].show_message(message)
        return not errors

    def _errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not self.name:
            errors["name"] = "Give the server a name, e.g. files."
        elif self.name in self._taken:
            errors["name"] = f"There is a server named {self.name} already."
        timeout = self.timeout_edit.text().strip()
        if timeout and not isinstance(_number(timeout), int | float):
            errors["timeout"] = "A number of seconds, e.g. 60 (empty: 60)."
        if self.approval_combo.currentData() == "some" and not self._approval():
            errors["requireApproval"] = "Name the tools that need approval, or choose another."
        editor = self.env_editor if self.kind == LOCAL else self.headers_editor
        if editor.unnamed_values():
            errors["env" if self.kind == LOCAL else "headers"] = "Every value needs a name."
        if self.kind == LOCAL and not self.command_edit.text().strip():
            errors["command"] = "The program to run, e.g. npx, uvx or a full path."
        if self.kind == REMOTE and not self.url_edit.text().strip():
            errors["url"] = "The server's address, e.g. https://example.com/mcp."
        if errors or not self.name:
            return errors
        try:
            config_file.check({"mcpServers": {self.name: self.entry()}}, "mcp.json", os.environ)
        except McpConfigError as exc:
            field_name, message = _field_of(str(exc), self.name)
            errors[field_name if field_name in self._error_labels() else "name"] = message
        return errors

    def _error_labels(self) -> dict[str, FieldError]:
        return {
            "name": self.name_error,
            "command": self.command_error,
            "args": self.args_error,
            "cwd": self.cwd_error,
            "env": self.env_error,
            "url": self.url_error,
            "headers": self.headers_error,
            "transport": self.url_error,
            "allowedTools": self.allowed_error,
            "requireApproval": self.approval_error,
            "timeout": self.timeout_error,
        }

    @Slot()
    def accept(self) -> None:
        if self.validate():
            self._check.cancel()
            super().accept()

    @Slot()
    def reject(self) -> None:
        self._check.cancel()
        super().reject()

    @Slot()
    def check(self) -> None:
        """Connect to the server as the form has it (nothing is saved) and list its tools."""
        if not self.validate():
            return
        self.check_button.setEnabled(False)
        self.check_view.show_progress(self.name)
        self._check.start(self.name, self.entry())

    @Slot(CheckResult)
    def _checked(self, result: CheckResult) -> None:
        self.check_button.setEnabled(True)
        self.check_view.show_result(result)

    @Slot()
    def _approval_changed(self) -> None:
        self.approval_tools_edit.setEnabled(self.approval_combo.currentData() == "some")


def _number(text: str) -> int | float | str:
    """``60`` stays a whole number in the file; text that is no number stays text."""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _field_of(error: str, name: str) -> tuple[str, str]:
    """The field an ``McpConfigError`` is about, and the message without the file and server."""
    match = _FIELD.search(error)
    message = error.split(f'server "{name}"', 1)[-1].lstrip(": ").strip()
    message = message[:1].upper() + message[1:]
    if match:
        return match.group(1), message
    if "needs either" in error:
        return "command", message
    return "name", message
