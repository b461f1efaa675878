"""The Settings window's Tools tab: the tool servers of ``mcp.json`` and what became of them.

Each server with its state as the running server reports it (connected · N tools, the error,
turned off), a switch, its approval policy, and add/edit/remove through a form or the raw JSON
(where a Claude Desktop file can be pasted). Unlike the other tabs, a change here is written at
once: the running server re-reads ``mcp.json`` within seconds and reconnects, so there is
nothing to restart and nothing to Save. Every write re-reads the file first (it may have been
edited elsewhere since), is checked by the server's own rules, and keeps everything it does not
know (``backend.tools.config_file``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend.tools import config_file
from backend.tools.config import McpConfigError
from desktop.commands import DeskCommands
from desktop.field_error import FieldError
from desktop.server_state import ServerState
from desktop.style import restyle
from desktop.supervisor import ServerSupervisor
from desktop.tool_check import CheckResult, CheckResultView, ToolCheck
from desktop.tool_server_form import ToolServerDialog
from desktop.tool_states import ToolStatePoller, ToolStates

NAME, KIND, STATE, APPROVAL = range(4)
FILE_CHECK_MS = 2000
SOME = "some"
JSON_HINT = (
    "The whole file. Apply makes this text mcp.json. To bring servers over from Claude "
    "Desktop, Cursor or LM Studio, paste their file here and press Add these servers: its "
    "servers are added (a server of the same name is replaced) and the others stay."
)


def is_enabled(entry: dict[str, Any]) -> bool:
    return entry.get("enabled", not entry.get("disabled", False)) is not False


def kind_of(entry: dict[str, Any]) -> str:
    if "url" in entry:
        sse = entry.get("transport", entry.get("type")) == "sse"
        return "remote · SSE" if sse else "remote · HTTP"
    return f"local · {Path(str(entry.get('command', ''))).name}"


class ToolsTab(QWidget):
    def __init__(
        self,
        data_dir: Path,
        config_path: Callable[[], Path],
        supervisor: ServerSupervisor,
        commands: DeskCommands,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._data_dir = data_dir
        self._config_path = config_path
        self._supervisor = supervisor
        self._document: dict[str, Any] = config_file.empty_document()
        self._stamp: tuple[int, int] | None = None
        self.dialog: ToolServerDialog | None = None
        self.confirm: QMessageBox | None = None

        self.poller = ToolStatePoller(supervisor, commands, self)
        self.poller.changed.connect(self._show_states)
        self._file_timer = QTimer(self)
        self._file_timer.setInterval(FILE_CHECK_MS)
        self._file_timer.timeout.connect(self._reload_if_changed)
        self._check = ToolCheck(data_dir, self)
        self._check.finished.connect(self._checked)

        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setProperty("role", "hint")
        self.problem = FieldError()
        self.pages = QTabWidget()
        self.pages.addTab(self._servers_page(), "Servers")
        self.pages.addTab(self._json_page(), "JSON")
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.problem)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.message)

    def _servers_page(self) -> QWidget:
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Server", "Kind", "State", "Approval"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(STATE, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: self.edit_selected())
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self.add_server)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.check_button = QPushButton("Connect and list tools")
        self.check_button.setToolTip(
            "Start the server as mcp.json has it, list its tools and stop it again"
        )
        self.check_button.clicked.connect(self.check_selected)
        self.check_view = CheckResultView()
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.check_button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.check_view)
        self._selection_changed()
        return page

    def _json_page(self) -> QWidget:
        hint = QLabel(JSON_HINT)
        hint.setWordWrap(True)
        hint.setProperty("role", "hint")
        self.json_edit = QPlainTextEdit()
        self.json_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.json_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.json_error = FieldError()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Make this text the whole of mcp.json")
        self.apply_button.clicked.connect(self.apply_json)
        self.merge_button = QPushButton("Add these servers")
        self.merge_button.setToolTip(
            "Add the servers in this text to mcp.json, replacing those of the same name"
        )
        self.merge_button.clicked.connect(self.merge_json)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Show mcp.json as it is again")
        self.revert_button.clicked.connect(self._revert_json)
        buttons = QHBoxLayout()
        buttons.addWidget(self.revert_button)
        buttons.addStretch(1)
        buttons.addWidget(self.merge_button)
        buttons.addWidget(self.apply_button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(hint)
        layout.addWidget(self.json_edit, 1)
        layout.addWidget(self.json_error)
        layout.addLayout(buttons)
        return page

    # Showing the file and the states

    @property
    def path(self) -> Path:
        return self._config_path()

    def load(self, refill: bool = True) -> None:
        """Read ``mcp.json`` afresh into the list and, unless it is being edited, the JSON view.

        ``refill=False`` from a row's own signal (its switch, its approval box): rebuilding the
        list there would delete the widget whose signal is running, so it is rebuilt after.
        """
        path = self.path
        self._stamp = _stamp(path)
        running = self._supervisor.status.state is ServerState.RUNNING
        self.where.setText(
            f"Tool servers (MCP) in {path}. Changes are written at once; "
            + (
                "the running server applies them within seconds."
                if running
                else "the server applies them when it starts."
            )
        )
        try:
            self._document = config_file.read_document(path)
            self.problem.clear_message()
        except McpConfigError as exc:
            self._document = config_file.empty_document()
            self.problem.show_message(f"{exc}. Fix it in the JSON view.")
        if not self.json_edit.document().isModified():
            self._revert_json()
        if refill:
            self._fill()
        else:
            self._show_states(self.poller.latest)
            QTimer.singleShot(0, self._fill)

    def _fill(self) -> None:
        selected = self.selected_name()
        self.tree.blockSignals(True)
        self.tree.clear()
        try:
            servers = config_file.servers_of(self._document)
        except McpConfigError:
            servers = {}
        for name, entry in servers.items():
            entry = entry if isinstance(entry, dict) else {}
            item = QTreeWidgetItem([name, kind_of(entry), "", ""])
            item.setData(NAME, Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = Qt.CheckState.Checked if is_enabled(entry) else Qt.CheckState.Unchecked
            item.setCheckState(NAME, checked)
            item.setToolTip(NAME, "Turned on: its tools are offered to the model")
            self.tree.addTopLevelItem(item)
            self.tree.setItemWidget(item, APPROVAL, self._approval_combo(name, entry))
            if name == selected:
                item.setSelected(True)
        self.tree.blockSignals(False)
        for column in (NAME, KIND, APPROVAL):
            self.tree.resizeColumnToContents(column)
        self._show_states(self.poller.latest)
        self._selection_changed()

    def _approval_combo(self, name: str, entry: dict[str, Any]) -> QComboBox:
        combo = QComboBox()
        combo.addItem("Always ask", "always")
        combo.addItem("Never ask", "never")
        policy = entry.get("requireApproval", "always")
        if isinstance(policy, list):
            combo.addItem(f"Ask for: {', '.join(map(str, policy))}", tuple(policy))
        combo.addItem("Ask for some tools…", SOME)
        index = combo.count() - 2 if isinstance(policy, list) else combo.findData(policy)
        combo.setCurrentIndex(max(index, 0))
        combo.activated.connect(lambda _: self._approval_chosen(name, combo))
        return combo

    def approval_combo(self, name: str) -> QComboBox:
        item = self._item(name)
        assert item is not None, name
        combo = self.tree.itemWidget(item, APPROVAL)
        assert isinstance(combo, QComboBox)
        return combo

    @Slot(ToolStates)
    def _show_states(self, states: ToolStates) -> None:
        servers = config_file.servers_of(self._document) if self._document else {}
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            name = item.data(NAME, Qt.ItemDataRole.UserRole)
            entry = servers.get(name)
            text = states.describe(name, is_enabled(entry) if isinstance(entry, dict) else True)
            item.setText(STATE, text)
            item.setToolTip(STATE, text)
        if states.config_error and not self.problem.text():
            self.problem.show_message(
                f"The running server cannot use mcp.json: {states.config_error}. "
                "It keeps the servers it had."
            )
        elif not states.config_error and self.problem.text().startswith("The running server"):
            self.problem.clear_message()

    def state_text(self, name: str) -> str:
        item = self._item(name)
        return item.text(STATE) if item is not None else ""

    def showEvent(self, event: QShowEvent) -> None:
        """Ask the server how its tool servers are only while someone looks."""
        super().showEvent(event)
        self.load()
        self.poller.start()
        self._file_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.poller.stop()
        self._file_timer.stop()

    @Slot()
    def _reload_if_changed(self) -> None:
        if _stamp(self.path) != self._stamp:
            self.load()

    # Changing the file

    def _write(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        done: str | Callable[[], str],
        refill: bool = True,
    ) -> bool:
        """Apply ``change`` to the file as it is now, check the result, write it; say so."""
        try:
            document = change(config_file.read_document(self.path))
            config_file.check(document, str(self.path), os.environ)
            config_file.write_document(self.path, document)
        except (McpConfigError, OSError) as exc:
            self._say("error", f"Not saved: {exc}")
            self.load(refill)
            return False
        self.json_edit.document().setModified(False)
        self.load(refill)
        running = self._supervisor.status.state is ServerState.RUNNING
        then = (
            "The running server applies it within seconds."
            if running
            else "It applies when the server starts."
        )
        self._say("ok", f"{done if isinstance(done, str) else done()} {then}")
        return True

    @Slot()
    def add_server(self) -> None:
        self._open_dialog(None)

    @Slot()
    def edit_selected(self) -> None:
        if (name := self.selected_name()) is not None:
            self._open_dialog(name)

    def _open_dialog(self, name: str | None) -> None:
        servers = config_file.servers_of(self._document)
        taken = [other for other in servers if other != name]
        entry = servers.get(name) if name is not None else None
        dialog = ToolServerDialog(
            self._data_dir, taken, name, entry if isinstance(entry, dict) else None, self
        )
        dialog.accepted.connect(lambda: self._dialog_saved(dialog, name))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()

    def _dialog_saved(self, dialog: ToolServerDialog, old_name: str | None) -> None:
        name, entry = dialog.name, dialog.entry()
        self._write(
            lambda document: config_file.with_server(document, name, entry, replacing=old_name),
            f"Saved {name}." if old_name else f"Added {name}.",
        )

    @Slot()
    def remove_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        confirm = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove tool server",
            f"Remove {name} from mcp.json? Its tools stop being offered.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        confirm.accepted.connect(lambda: self._remove(name))
        confirm.finished.connect(confirm.deleteLater)
        self.confirm = confirm
        confirm.open()

    def _remove(self, name: str) -> None:
        self._write(lambda document: config_file.without_server(document, name), f"Removed {name}.")

    @Slot(QTreeWidgetItem, int)
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != NAME:
            return
        name = item.data(NAME, Qt.ItemDataRole.UserRole)
        enabled = item.checkState(NAME) == Qt.CheckState.Checked
        self._write(
            lambda document: config_file.with_enabled(document, name, enabled),
            f"Turned {name} {'on' if enabled else 'off'}.",
            refill=False,
        )

    def _approval_chosen(self, name: str, combo: QComboBox) -> None:
        choice = combo.currentData()
        if choice == SOME:
            QTimer.singleShot(0, self._fill)  # back to what the file says until it is saved
            self._open_dialog(name)
            if self.dialog is not None:
                self.dialog.approval_combo.setCurrentIndex(2)
                self.dialog.approval_tools_edit.setFocus()
            return
        if isinstance(choice, tuple):
            said = f"asks before {', '.join(choice)} run"
        else:
            said = "always asks before a tool runs" if choice == "always" else "never asks"
        self._write(
            lambda document: config_file.with_approval(document, name, choice),
            f"{name} {said}.",
            refill=False,
        )

    # The JSON view

    @Slot()
    def _revert_json(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = config_file.document_text(config_file.empty_document())
        except (OSError, UnicodeDecodeError) as exc:
            text = ""
            self.json_error.show_message(f"{self.path} cannot be read ({exc})")
        self.json_edit.setPlainText(text)
        self.json_edit.document().setModified(False)
        self.json_error.clear_message()

    def _pasted(self) -> dict[str, Any] | None:
        self.json_error.clear_message()
        try:
            document = config_file.parse_document(self.json_edit.toPlainText(), "The text")
            config_file.check(document, "The text", os.environ)
        except McpConfigError as exc:
            self.json_error.show_message(str(exc))
            self._say("error", "Not saved: the JSON has a problem (shown under it).")
            return None
        return document

    @Slot()
    def apply_json(self) -> None:
        """The text becomes the file: every key in it kept, placeholders as written."""
        document = self._pasted()
        if document is None:
            return
        try:
            config_file.write_document(self.path, document)
        except OSError as exc:
            self._say("error", f"Not saved: {exc}")
            return
        self.json_edit.document().setModified(False)
        self.load()
        count = len(config_file.servers_of(document))
        self._say("ok", f"Saved mcp.json with {count} server{'s' if count != 1 else ''}.")

    @Slot()
    def merge_json(self) -> None:
        """The text's servers added to the file (same name: replaced), the others kept."""
        pasted = self._pasted()
        if pasted is None:
            return
        merge = config_file.Merge()

        def add(document: dict[str, Any]) -> dict[str, Any]:
            nonlocal merge
            result, merge = config_file.merged(document, pasted)
            return result

        def said() -> str:
            notes = []
            if merge.added:
                notes.append(f"Added {', '.join(merge.added)}.")
            if merge.replaced:
                notes.append(f"Replaced {', '.join(merge.replaced)}.")
            if not merge.added and not merge.replaced:
                notes.append("The text has no servers; nothing changed.")
            if ignored := config_file.ignored_keys(pasted):
                notes.append(f"Left out the other app's own settings: {', '.join(ignored)}.")
            return " ".join(notes)

        self.json_edit.document().setModified(False)
        self._write(add, said)

    # Connect and list

    def selected_name(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(NAME, Qt.ItemDataRole.UserRole) if items else None

    def select(self, name: str) -> None:
        item = self._item(name)
        assert item is not None, name
        self.tree.setCurrentItem(item)

    @Slot()
    def check_selected(self) -> None:
        name = self.selected_name()
        entry = config_file.servers_of(self._document).get(name) if name else None
        if name is None or not isinstance(entry, dict):
            return
        self.check_button.setEnabled(False)
        self.check_view.show_progress(name)
        self._check.start(name, entry)

    @Slot(CheckResult)
    def _checked(self, result: CheckResult) -> None:
        self.check_button.setEnabled(self.selected_name() is not None)
        self.check_view.show_result(result)

    @Slot()
    def _selection_changed(self) -> None:
        chosen = self.selected_name() is not None
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)
        self.check_button.setEnabled(chosen and not self._check.running)

    def _item(self, name: str) -> QTreeWidgetItem | None:
        for row in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(row)
            if item.data(NAME, Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def _say(self, role: str, text: str) -> None:
        self.message.setProperty("role", role)
        self.message.setText(text)
        restyle(self.message)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size
