"""The tray app's entry point (``chatkit-desk tray``) and the wiring of its parts."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from backend.data_dir import ENV_PREFIX, SETTINGS_FILE_NAME, resolve_data_dir
from desktop import autostart, tray_log
from desktop.commands import DeskCommands
from desktop.icons import app_icon
from desktop.single_instance import SingleInstance
from desktop.supervisor import ServerSupervisor
from desktop.tray import Tray
from desktop.unix_signals import SignalWatcher

if TYPE_CHECKING:
    from desktop.settings_window import SettingsWindow

NO_TRAY_REASON = (
    "This desktop has no system tray (on GNOME, install the “AppIndicator and "
    "KStatusNotifierItem Support” extension), so ChatKit Desk runs in this window. "
    "Closing it quits ChatKit Desk and stops the server."
)


class DeskApp(QObject):
    """The supervisor, the settings window and (when there is a tray) the tray icon."""

    def __init__(
        self,
        data_dir: Path,
        *,
        data_dir_argument: str | None = None,
        tray_available: bool | None = None,
        open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl,
        login_item: autostart.Autostart | None = None,
    ) -> None:
        super().__init__()
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.data_dir = data_dir
        self.supervisor = ServerSupervisor(data_dir, self)
        self.commands = DeskCommands(data_dir, open_url)
        login_item = login_item or autostart.for_this_platform()
        login_command = autostart.tray_command(data_dir_argument)
        self._login_item, self._login_command = login_item, login_command
        self._no_tray_reason = None if tray_available else NO_TRAY_REASON
        self._window: SettingsWindow | None = None
        self.tray = (
            Tray(
                self.supervisor,
                self.commands,
                login_item,
                login_command,
                show_settings=self.show_settings,
                quit_app=self.quit,
                parent=self,
            )
            if tray_available
            else None
        )

    @property
    def window(self) -> SettingsWindow:
        """The settings window, built when first needed: an idle tray does without its widgets,
        the settings validation and the keyring it reads (~20 MB, measured with bench/)."""
        if self._window is None:
            from desktop.settings_window import SettingsWindow

            self._window = SettingsWindow(
                self.supervisor,
                self.commands,
                self._login_item,
                self._login_command,
                no_tray_reason=self._no_tray_reason,
            )
        return self._window

    def start(self) -> None:
        """Show the tray (or the window), and start the server unless the settings say not to."""
        if self.tray is not None:
            self.tray.show()
        else:
            self.window.show_and_raise()
        if starts_server(self.data_dir):
            self.supervisor.start()

    @Slot()
    def show_settings(self) -> None:
        self.window.show_and_raise()

    @Slot()
    def quit(self) -> None:
        """Quit from the menu: stop the server first, then leave the event loop."""
        self.shutdown()
        QApplication.quit()

    @Slot()
    def shutdown(self) -> None:
        """Stop the server and wait for it; runs when the app quits, however it was asked to."""
        self.supervisor.shutdown()
        if self.tray is not None:
            self.tray.hide()

    def dispose(self) -> None:
        """Delete the widgets while the QApplication still exists (Python's exit order is
        arbitrary, and a widget outliving the application crashes the process)."""
        widgets: list[QObject] = [self._window] if self._window is not None else []
        if self.tray is not None:
            widgets.append(self.tray.menu)
        _delete([*widgets, self])


def starts_server(data_dir: Path) -> bool:
    """The ``tray_starts_server`` setting, read without the settings' model when it is a plain
    true or false (as the settings window writes it): the model would cost an idle tray most of
    its memory beyond Qt's."""
    value = os.environ.get(f"{ENV_PREFIX}TRAY_STARTS_SERVER")
    if value is None:
        try:
            content = json.loads((data_dir / SETTINGS_FILE_NAME).read_text(encoding="utf-8"))
            value = content.get("tray_starts_server", True) if isinstance(content, dict) else None
        except FileNotFoundError:
            return True
        except (OSError, ValueError):
            value = None
    if isinstance(value, bool):
        return value
    from backend.settings import SettingsError, load_settings  # anything else: as the server would

    try:
        return load_settings(data_dir).tray_starts_server
    except SettingsError:
        return True  # the server then says what is wrong


def _delete(objects: list[QObject]) -> None:
    for qt_object in objects:
        shiboken6.delete(qt_object)


def run_tray(data_dir: str | None = None) -> int:
    """Run the tray app until Quit, SIGTERM or SIGINT; the exit code for ``chatkit-desk tray``."""
    resolved = resolve_data_dir(data_dir)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("ChatKit Desk")
    app.setDesktopFileName("chatkit-desk")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)

    instance = SingleInstance(resolved)
    if not instance.acquire():
        if instance.ask_first_to_show():
            print("chatkit-desk: already running; showed its settings window.", file=sys.stderr)
            return 0
        print(
            f"chatkit-desk: another tray (pid {instance.holder_pid()}) uses {resolved} "
            "but does not answer; stop it and try again.",
            file=sys.stderr,
        )
        return 1

    with tray_log.written_to(resolved / "logs"):
        tray_log.tray.info("tray started (pid %d), data dir %s", os.getpid(), resolved)
        desk = DeskApp(resolved, data_dir_argument=data_dir)
        instance.show_requested.connect(desk.show_settings)
        SignalWatcher(lambda signal_number: _quit_on(app, signal_number), app)
        app.aboutToQuit.connect(desk.shutdown)
        desk.start()
        try:
            return app.exec()
        finally:
            instance.release()
            desk.dispose()
            tray_log.tray.info("tray quit")


def _quit_on(app: QApplication, signal_number: int) -> None:
    tray_log.tray.info("quitting on %s", signal.Signals(signal_number).name)
    app.quit()
