"""What the tray menu and the settings window do besides starting and stopping the server."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

from backend.hosts import base_url, sign_in_url
from backend.secrets import KeyringUnavailable
from backend.tokens import (
    DEFAULT_SUBJECT,
    DEFAULT_TTL,
    SigningSecretUnavailable,
    TokenAuthority,
    parse_duration,
)
from desktop import keyring_thread

if TYPE_CHECKING:  # the settings' model is loaded by a command, not by the idle tray
    from backend.settings import Settings


TRAY_SUBJECT = "chatkit-desk-tray"
TRAY_TOKEN_TTL_SECONDS = 3600


class CommandFailed(Exception):
    """The command could not be done; the message says why, for a notification."""


Report = Callable[[str | CommandFailed], None]
"""Where a command that signs a token says how it went: its confirmation, or why it failed."""
SignedCommand = Callable[["Settings", TokenAuthority], str]


class DeskCommands:
    """Each command returns a short confirmation to show, or raises ``CommandFailed``; those
    that sign a token (``open_chat``, ``copy_access_token``) tell a ``Report`` instead, maybe
    later: the first of them reads the signing secret on the keyring thread."""

    def __init__(
        self, data_dir: Path, open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
    ) -> None:
        self.data_dir = data_dir
        self._open_url = open_url
        self._authority: TokenAuthority | None = None
        """Read once per process: the secret is made once and kept for good."""
        self._waiting: list[tuple[SignedCommand, Report]] = []

    def settings(self) -> Settings:
        from backend.settings import SettingsError, load_settings

        try:
            return load_settings(self.data_dir)
        except SettingsError as exc:
            raise CommandFailed(str(exc)) from None

    def frontend_url(self) -> str:
        return f"{base_url(self.settings())}/chatkit"

    def open_chat(self, report: Report) -> None:
        """The built-in page, through a one-time sign-in link: the browser never sees a token."""
        self._signed(self._open_signed_in, report)

    def copy_access_token(self, report: Report) -> None:
        self._signed(self._copy_token, report)

    def api_token(self, report: Report) -> None:
        """A short-lived token for the tray's own calls to the server (``/api/tools``)."""
        self._signed(self._tray_token, report)

    def copy_frontend_url(self) -> str:
        url = self.frontend_url()
        QGuiApplication.clipboard().setText(url)
        return f"Copied {url}"

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

    # Commands that sign a token

    def _open_signed_in(self, settings: Settings, authority: TokenAuthority) -> str:
        url = sign_in_url(settings, authority.issue_login())
        if not self._open_url(QUrl(url)):
            raise CommandFailed("no web browser could be started")
        return "Opening the chat in your browser"

    @staticmethod
    def _copy_token(settings: Settings, authority: TokenAuthority) -> str:
        token = authority.issue(DEFAULT_SUBJECT, parse_duration(DEFAULT_TTL))
        QGuiApplication.clipboard().setText(token)
        return "Copied an access token (valid for 30 days) — keep it private"

    @staticmethod
    def _tray_token(settings: Settings, authority: TokenAuthority) -> str:
        """Its own subject, so its polls never count against a person's rate limit."""
        return authority.issue(TRAY_SUBJECT, TRAY_TOKEN_TTL_SECONDS)

    def _signed(self, command: SignedCommand, report: Report) -> None:
        """Run ``command`` with the token authority, once the signing secret has been read."""
        if self._authority is not None:
            report(self._outcome(command, self._authority))
            return
        self._waiting.append((command, report))
        if len(self._waiting) == 1:  # else the read is under way already
            keyring_thread.ask(partial(_authority_for, self.data_dir), self._authority_read)

    def _authority_read(self, answer: TokenAuthority | CommandFailed | KeyringUnavailable) -> None:
        waiting, self._waiting = self._waiting, []
        if isinstance(answer, TokenAuthority):
            self._authority = answer
        for command, report in waiting:
            if isinstance(answer, TokenAuthority):
                report(self._outcome(command, answer))
            else:
                report(CommandFailed(str(answer)))

    def _outcome(self, command: SignedCommand, authority: TokenAuthority) -> str | CommandFailed:
        try:
            return command(self.settings(), authority)
        except CommandFailed as exc:
            return exc


def _authority_for(data_dir: Path) -> TokenAuthority | CommandFailed:
    """On the keyring thread: the secret may be in the keyring, or made and stored there now."""
    from backend.settings import SettingsError, load_settings

    try:
        settings = load_settings(data_dir)
        return TokenAuthority.from_configured(settings.jwt_secret, settings.data_dir)
    except (SettingsError, SigningSecretUnavailable) as exc:
        return CommandFailed(str(exc))
