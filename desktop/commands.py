"""What the tray menu and the settings window do besides starting and stopping the server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

from backend.hosts import base_url, sign_in_url
from backend.settings import Settings, SettingsError, load_settings
from backend.tokens import (
    DEFAULT_SUBJECT,
    DEFAULT_TTL,
    SigningSecretUnavailable,
    TokenAuthority,
    parse_duration,
)


class CommandFailed(Exception):
    """The command could not be done; the message says why, for a notification."""


class DeskCommands:
    """Each command returns a short confirmation to show, or raises ``CommandFailed``."""

    def __init__(
        self, data_dir: Path, open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
    ) -> None:
        self.data_dir = data_dir
        self._open_url = open_url

    def settings(self) -> Settings:
        try:
            return load_settings(self.data_dir)
        except SettingsError as exc:
            raise CommandFailed(str(exc)) from None

    def frontend_url(self) -> str:
        return f"{base_url(self.settings())}/chatkit"

    def open_chat(self) -> str:
        """The built-in page, through a one-time sign-in link: the browser never sees a token."""
        settings = self.settings()
        url = sign_in_url(settings, self._authority(settings).issue_login())
        if not self._open_url(QUrl(url)):
            raise CommandFailed("no web browser could be started")
        return "Opening the chat in your browser"

    def copy_frontend_url(self) -> str:
        url = self.frontend_url()
        QGuiApplication.clipboard().setText(url)
        return f"Copied {url}"

    def copy_access_token(self) -> str:
        settings = self.settings()
        token = self._authority(settings).issue(DEFAULT_SUBJECT, parse_duration(DEFAULT_TTL))
        QGuiApplication.clipboard().setText(token)
        return "Copied an access token (valid for 30 days) — keep it private"

    def open_logs(self) -> str:
        """The server's log file, or the folder it will be in when there is none yet."""
        settings = self.settings()
        target = settings.log_file
        if not target.exists():
            settings.log_dir.mkdir(parents=True, exist_ok=True)
            target = settings.log_dir
        if not self._open_url(QUrl.fromLocalFile(str(target))):
            raise CommandFailed(f"nothing could open {target}")
        return f"Opening {target}"

    @staticmethod
    def _authority(settings: Settings) -> TokenAuthority:
        try:
            return TokenAuthority.from_configured(settings.jwt_secret, settings.data_dir)
        except SigningSecretUnavailable as exc:
            raise CommandFailed(str(exc)) from None
