"""The tray icon and its menu: one icon and tooltip per server state, and the app's commands."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.autostart import Autostart
from desktop.commands import CommandFailed, DeskCommands
from desktop.icons import state_icon
from desktop.server_state import ServerState, ServerStatus
from desktop.supervisor import ServerSupervisor

NOTIFY_MS = 5000


class Tray(QObject):
    def __init__(
        self,
        supervisor: ServerSupervisor,
        commands: DeskCommands,
        autostart: Autostart,
        autostart_command: list[str],
        show_settings: Callable[[], None],
        quit_app: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._supervisor = supervisor
        self._commands = commands
        self._autostart = autostart
        self._autostart_command = autostart_command
        self._show_settings = show_settings

        self.menu = QMenu()
        self.status_action = self.menu.addAction("")
        self.status_action.setEnabled(False)
        self.menu.addSeparator()
        self.start_stop_action = self.menu.addAction("Start server", self._start_or_stop)
        self.open_chat_action = self.menu.addAction(
            "Open chat", lambda: commands.open_chat(self._report)
        )
        self.copy_url_action = self.menu.addAction(
            "Copy frontend URL", self._run(commands.copy_frontend_url)
        )
        self.copy_token_action = self.menu.addAction(
            "Copy access token", lambda: commands.copy_access_token(self._report)
        )
        self.menu.addSeparator()
        self.settings_action = self.menu.addAction("Settings…", show_settings)
        self.open_logs_action = self.menu.addAction("Open logs", self._run(commands.open_logs))
        self.autostart_action: QAction = self.menu.addAction("Start at login")
        self.autostart_action.setCheckable(True)
        self.autostart_action.toggled.connect(self._set_autostart)
        self.menu.addSeparator()
        self.quit_action = self.menu.addAction("Quit ChatKit Desk", quit_app)
        self.menu.aboutToShow.connect(self._sync_autostart)

        self.icon = QSystemTrayIcon(state_icon(ServerState.STOPPED), self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(show_settings)
        supervisor.status_changed.connect(self.show_status)
        self._sync_autostart()
        self.show_status(supervisor.status)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    @Slot(ServerStatus)
    def show_status(self, status: ServerStatus) -> None:
        previous = self.icon.toolTip()
        self.icon.setIcon(state_icon(status.state))
        self.icon.setToolTip(status.tooltip)
        self.status_action.setText(status.summary)
        self.status_action.setIcon(state_icon(status.state))
        self.start_stop_action.setText(
            "Stop server" if self._supervisor.is_active else "Start server"
        )
        self.open_chat_action.setEnabled(status.state is ServerState.RUNNING)
        if status.state is ServerState.ERROR and status.tooltip != previous:
            self.notify(status.summary, error=True)

    def notify(self, message: str, error: bool = False) -> None:
        kind = (
            QSystemTrayIcon.MessageIcon.Warning
            if error
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage("ChatKit Desk", message, kind, NOTIFY_MS)

    def _run(self, command: Callable[[], str]) -> Callable[[], None]:
        def run() -> None:
            try:
                self._report(command())
            except CommandFailed as exc:
                self._report(exc)

        return run

    def _report(self, outcome: str | CommandFailed) -> None:
        self.notify(str(outcome), error=isinstance(outcome, CommandFailed))

    @Slot()
    def _start_or_stop(self) -> None:
        if self._supervisor.is_active:
            self._supervisor.stop()
        else:
            self._supervisor.start()

    @Slot()
    def _sync_autostart(self) -> None:
        """The entry may have been removed by hand, or toggled in the settings window."""
        self.autostart_action.blockSignals(True)
        self.autostart_action.setChecked(self._autostart.is_enabled())
        self.autostart_action.blockSignals(False)

    @Slot(bool)
    def _set_autostart(self, enabled: bool) -> None:
        try:
            if enabled:
                self._autostart.enable(self._autostart_command)
            else:
                self._autostart.disable()
        except OSError as exc:
            self.notify(f"Could not change the login item: {exc}", error=True)
        self._sync_autostart()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self._show_settings()
