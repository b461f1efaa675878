"""The tool servers as the running server sees them: ``GET /api/tools``, polled while shown.

The running server holds the connections, so only it can say "connected, 7 tools" or why not.
The Tools tab starts the poll when it is shown and stops it when hidden: an idle tray makes no
requests. The token is the tray's own (``DeskCommands.api_token``), signed once and reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkProxy, QNetworkReply, QNetworkRequest

from desktop.commands import CommandFailed, DeskCommands
from desktop.server_state import ServerState
from desktop.supervisor import ServerSupervisor

POLL_MS = 3000
TOOLS_PATH = "/api/tools"


@dataclass(frozen=True)
class ToolStates:
    """One answer: each server's state by name, or why there is none (``problem``)."""

    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_error: str | None = None
    problem: str | None = None
    """"The server is not running", or why it could not be asked."""

    def describe(self, name: str, enabled: bool) -> str:
        """One line for the list: connected · N tools, the error, turned off, not running."""
        if not enabled:
            return "turned off"
        if self.problem is not None:
            return self.problem
        state = self.servers.get(name)
        if state is None:
            return "not applied yet…"
        if state["status"] == "connected":
            count = len(state["tools"])
            return f"connected · {count} tool{'s' if count != 1 else ''}"
        if state["status"] == "connecting":
            return "starting…"
        if state["status"] == "disabled":
            return "turned off"
        return f"error: {state.get('error') or state.get('summary')}"


class ToolStatePoller(QObject):
    changed = Signal(ToolStates)

    def __init__(
        self,
        supervisor: ServerSupervisor,
        commands: DeskCommands,
        parent: QObject | None = None,
        interval_ms: int = POLL_MS,
    ) -> None:
        super().__init__(parent)
        self._supervisor = supervisor
        self._commands = commands
        self._token: str | None = None
        self._asking_token = False
        self._reply: QNetworkReply | None = None
        self._network = QNetworkAccessManager(self)
        self._network.setProxy(QNetworkProxy(QNetworkProxy.ProxyType.NoProxy))
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self.latest = ToolStates(problem="asking the server…")

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
            self.poll()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def poll(self) -> None:
        status = self._supervisor.status
        if status.state is not ServerState.RUNNING:
            self._publish(ToolStates(problem="server not running"))
            return
        if self._reply is not None or self._asking_token:
            return
        if self._token is None:
            self._asking_token = True
            self._commands.api_token(self._token_signed)
            return
        request = QNetworkRequest(QUrl(f"{status.detail}{TOOLS_PATH}"))
        request.setRawHeader(b"Authorization", f"Bearer {self._token}".encode())
        request.setTransferTimeout(5000)
        reply = self._network.get(request)
        self._reply = reply
        reply.finished.connect(lambda: self._answered(reply))

    def _token_signed(self, outcome: str | CommandFailed) -> None:
        self._asking_token = False
        if isinstance(outcome, CommandFailed):
            self._publish(ToolStates(problem=f"cannot ask the server: {outcome}"))
            return
        self._token = outcome
        if self.active:
            self.poll()

    def _answered(self, reply: QNetworkReply) -> None:
        self._reply = None
        reply.deleteLater()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        if status == 401:
            self._token = None  # a new signing secret, or it expired: sign another
            return
        try:
            answer = json.loads(reply.readAll().data())
            servers = {state["name"]: state for state in answer["servers"]}
        except (ValueError, KeyError, TypeError):
            self._publish(ToolStates(problem=f"no answer from the server ({reply.errorString()})"))
            return
        self._publish(ToolStates(servers, answer.get("config_error")))

    def _publish(self, states: ToolStates) -> None:
        if states != self.latest:
            self.latest = states
            self.changed.emit(states)
