""" "Connect and list tools": run ``chatkit-desk tools --json`` on a server, off the GUI thread.

The check runs what is in the form or the file *before* it goes live, so it cannot ask the
running server (which only knows the saved file): it starts the CLI as a child process, as the
server would start the tool server, on a private temporary copy of the entry (it may hold a
secret) that is removed when the check ends. A check takes up to the CLI's connect timeout
(``npx`` may download the server first); the window stays responsive meanwhile.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from backend.tools import config_file
from desktop.style import restyle


@dataclass(frozen=True)
class CheckResult:
    works: bool
    message: str
    tools: list[tuple[str, str]] = field(default_factory=list)
    """Each tool's name and description."""


def check_command(data_dir: Path, config: Path, name: str) -> list[str]:
    """The same executable in a PyInstaller bundle; ``python -m backend`` in development."""
    arguments = ["tools", "--config", str(config), "--data-dir", str(data_dir), "--json", name]
    if getattr(sys, "frozen", False):
        return [sys.executable, *arguments]
    return [sys.executable, "-m", "backend", *arguments]


def judge(exit_code: int, stdout: bytes, stderr: bytes, name: str) -> CheckResult:
    """What the CLI said about ``name``, in one line for a person, with its tools."""
    try:
        answer = json.loads(stdout)
        state = next(s for s in answer["servers"] if s["name"] == name)
    except (ValueError, KeyError, TypeError, StopIteration):
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1].removeprefix("chatkit-desk: ") if lines else f"exit code {exit_code}"
        return CheckResult(False, f"✗ {name} could not be checked: {why}")
    if state["status"] != "connected":
        return CheckResult(False, f"✗ {name}: {state['summary']}")
    tools = [(str(tool["name"]), str(tool.get("description") or "")) for tool in state["tools"]]
    return CheckResult(True, f"✓ {name}: {state['summary']}", tools)


class ToolCheck(QObject):
    """One check at a time; ``finished`` carries its ``CheckResult``."""

    finished = Signal(CheckResult)

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._data_dir = data_dir
        self._process: QProcess | None = None
        self._copy: Path | None = None

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, name: str, entry: Mapping[str, Any]) -> None:
        """Check ``entry`` as server ``name`` (turned on for the check: it is what is asked)."""
        self.cancel()
        handle, path = tempfile.mkstemp(prefix="chatkit-desk-check-", suffix=".json")
        document = {"mcpServers": {name: {**entry, "enabled": True}}}
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(config_file.document_text(document))
        self._copy = Path(path)
        command = check_command(self._data_dir, self._copy, name)
        process = QProcess(self)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.setProcessEnvironment(QProcessEnvironment.systemEnvironment())
        process.finished.connect(lambda code, _status: self._finished(process, name, code))
        process.errorOccurred.connect(lambda error: self._failed(process, name, error))
        self._process = process
        process.start()

    def cancel(self) -> None:
        if self._process is not None:
            process, self._process = self._process, None
            process.kill()
            process.waitForFinished(5000)
            self._forget(process)

    def _finished(self, process: QProcess, name: str, code: int) -> None:
        if process is not self._process:
            return
        self._process = None
        stdout = process.readAllStandardOutput().data()
        stderr = process.readAllStandardError().data()
        self._forget(process)
        self.finished.emit(judge(code, stdout, stderr, name))

    def _failed(self, process: QProcess, name: str, error: QProcess.ProcessError) -> None:
        if process is not self._process or error != QProcess.ProcessError.FailedToStart:
            return
        self._process = None
        reason = process.errorString()
        self._forget(process)
        self.finished.emit(CheckResult(False, f"✗ {name} could not be checked: {reason}"))

    def _forget(self, process: QProcess) -> None:
        process.setParent(None)  # see ServerSupervisor._forget_process
        process.deleteLater()
        if self._copy is not None:
            self._copy.unlink(missing_ok=True)
            self._copy = None


class CheckResultView(QWidget):
    """The outcome of a check: one line, then the tools with what they do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tools = QListWidget()
        self.tools.setMaximumHeight(140)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.tools)
        self.hide()

    def show_progress(self, name: str) -> None:
        self._say("hint", f"Connecting to {name} and listing its tools…")
        self.tools.clear()
        self.tools.hide()
        self.show()

    def show_result(self, result: CheckResult) -> None:
        self._say("ok" if result.works else "error", result.message)
        self.tools.clear()
        for name, description in result.tools:
            first_line = description.strip().splitlines()[0] if description.strip() else ""
            item = QListWidgetItem(f"{name} — {first_line}" if first_line else name)
            item.setToolTip(description)
            self.tools.addItem(item)
        self.tools.setVisible(bool(result.tools))
        self.show()

    def tool_names(self) -> list[str]:
        return [self.tools.item(row).text().split(" — ")[0] for row in range(self.tools.count())]

    def _say(self, role: str, text: str) -> None:
        self.message.setProperty("role", role)
        self.message.setText(text)
        restyle(self.message)
