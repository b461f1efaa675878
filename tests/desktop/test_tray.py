"""Every tray menu action, and the icon and tooltip of every server state."""

from __future__ import annotations

import configparser
import threading
from pathlib import Path

import httpx
import jwt
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from backend.tokens import TokenAuthority
from desktop.app import DeskApp
from desktop.autostart import XdgAutostart
from desktop.icons import state_icon
from desktop.server_state import ServerState, ServerStatus
from desktop.settings_window import SettingsWindow
from tests.desktop.helpers import (
    KEYRING_TIMEOUT_MS,
    OpenedUrls,
    event_loop_turns,
    pid_alive,
    port_of,
    wait_running,
    wait_state,
)
from tests.support.desk_process import TEST_JWT_SECRET
from tests.support.keyrings import BlockingKeyring, MemoryKeyring
from tests.support.mcp_servers import release, stdio_entry, write_mcp_json
from tests.support.sse_client import user_input


def test_each_state_has_its_own_icon(qtbot: QtBot) -> None:
    images = {state: state_icon(state).pixmap(32, 32).toImage() for state in ServerState}
    assert all(not image.isNull() for image in images.values())
    assert len({bytes(image.constBits()) for image in images.values()}) == len(ServerState)


def test_icon_tooltip_and_menu_follow_the_server(qtbot: QtBot, desk: DeskApp) -> None:
    tray = desk.tray
    assert tray is not None
    port = port_of(desk.data_dir)
    assert tray.icon.toolTip() == "ChatKit Desk\nStopped"
    assert tray.start_stop_action.text() == "Start server"
    assert not tray.open_chat_action.isEnabled()

    tray.start_stop_action.trigger()
    assert tray.icon.icon().cacheKey() == state_icon(ServerState.STARTING).cacheKey()
    wait_running(qtbot, desk.supervisor)

    assert tray.icon.icon().cacheKey() == state_icon(ServerState.RUNNING).cacheKey()
    assert f"Running on http://127.0.0.1:{port}" in tray.icon.toolTip()
    assert "No OpenAI API key is set" in tray.icon.toolTip()
    assert tray.status_action.text() == f"Running on http://127.0.0.1:{port}"
    assert tray.start_stop_action.text() == "Stop server"
    assert tray.open_chat_action.isEnabled()

    tray.start_stop_action.trigger()
    wait_state(qtbot, desk.supervisor, ServerState.STOPPED)
    assert tray.icon.icon().cacheKey() == state_icon(ServerState.STOPPED).cacheKey()
    assert tray.start_stop_action.text() == "Start server"


def test_an_error_shows_its_reason(desk: DeskApp) -> None:
    tray = desk.tray
    assert tray is not None
    tray.show_status(ServerStatus(ServerState.ERROR, "port 8765 is already in use"))
    assert tray.icon.icon().cacheKey() == state_icon(ServerState.ERROR).cacheKey()
    assert tray.icon.toolTip() == "ChatKit Desk\nError: port 8765 is already in use"


def test_open_chat_opens_a_one_time_sign_in_link(
    qtbot: QtBot, desk: DeskApp, opened: OpenedUrls
) -> None:
    assert desk.tray is not None
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)

    desk.tray.open_chat_action.trigger()

    qtbot.waitUntil(lambda: bool(opened), timeout=KEYRING_TIMEOUT_MS)
    [url] = opened
    assert url.startswith(f"http://127.0.0.1:{port_of(desk.data_dir)}/login?token=")
    with httpx.Client(timeout=60) as browser:
        signed_in = browser.get(url)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert browser.get(url).status_code != 303, "the link works only once"


def test_copy_frontend_url(desk: DeskApp) -> None:
    assert desk.tray is not None
    desk.tray.copy_url_action.trigger()
    port = port_of(desk.data_dir)
    assert QGuiApplication.clipboard().text() == f"http://127.0.0.1:{port}/chatkit"


def copied_token(qtbot: QtBot, desk: DeskApp) -> str:
    """Copy an access token from the menu, and wait for the clipboard to have it."""
    assert desk.tray is not None
    QGuiApplication.clipboard().setText("before")
    desk.tray.copy_token_action.trigger()
    qtbot.waitUntil(
        lambda: QGuiApplication.clipboard().text() != "before", timeout=KEYRING_TIMEOUT_MS
    )
    return QGuiApplication.clipboard().text()


def test_copy_access_token_gives_a_token_the_server_accepts(qtbot: QtBot, desk: DeskApp) -> None:
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)

    token = copied_token(qtbot, desk)

    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "local" and claims["exp"] - claims["iat"] == 30 * 86400
    answer = httpx.post(
        f"http://127.0.0.1:{port_of(desk.data_dir)}/chatkit",
        json={"type": "threads.list", "params": {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200


def test_copy_access_token_without_a_keyring_uses_the_secret_kept_in_the_data_dir(
    qtbot: QtBot, desk: DeskApp, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    """With no keyring to keep it, the signing secret is kept in a file only its owner can read
    (as the server does it), so the token copied here is one the server accepts."""
    monkeypatch.delenv("CHATKIT_DESK_JWT_SECRET")
    monkeypatch.setattr("backend.secrets._read", _keyring_locked)

    token = copied_token(qtbot, desk)
    secret_file = data_dir / "jwt-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert TokenAuthority(secret_file.read_text()).subject_of(token) == "local"


def test_the_signing_secret_is_read_off_the_gui_thread_and_only_once(
    qtbot: QtBot,
    desk: DeskApp,
    blocking_keyring: BlockingKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert desk.tray is not None
    monkeypatch.delenv("CHATKIT_DESK_JWT_SECRET")  # so it is made and kept in the keyring
    QGuiApplication.clipboard().setText("before")

    desk.tray.copy_token_action.trigger()

    qtbot.waitUntil(blocking_keyring.entered.is_set, timeout=KEYRING_TIMEOUT_MS)
    event_loop_turns(qtbot)
    assert QGuiApplication.clipboard().text() == "before"
    blocking_keyring.released.set()
    qtbot.waitUntil(
        lambda: QGuiApplication.clipboard().text() != "before", timeout=KEYRING_TIMEOUT_MS
    )
    secret = blocking_keyring.entries[("chatkit-desk", "jwt-secret")]
    assert TokenAuthority(secret).subject_of(QGuiApplication.clipboard().text()) == "local"

    blocking_keyring.entered.clear()
    blocking_keyring.released.clear()
    QGuiApplication.clipboard().setText("again")
    desk.tray.copy_token_action.trigger()  # done at once: the secret is not read again
    assert TokenAuthority(secret).subject_of(QGuiApplication.clipboard().text()) == "local"
    assert not blocking_keyring.entered.is_set()


def _keyring_locked(account: str) -> object:
    from backend.secrets import KeyLookup

    return KeyLookup(None, "none", "the system keyring is locked")


def test_settings_opens_the_window(desk: DeskApp) -> None:
    assert desk.tray is not None
    assert not desk.window.isVisible()
    desk.tray.settings_action.trigger()
    assert desk.window.isVisible()


def test_the_settings_window_is_built_only_when_asked_for(
    qtbot: QtBot, data_dir: Path, opened: OpenedUrls, memory_keyring: MemoryKeyring
) -> None:
    """An idle tray carries no settings window (nor what it loads): ~20 MB less, see bench/."""

    def settings_windows() -> list[SettingsWindow]:
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsWindow)]

    before = len(settings_windows())
    app = DeskApp(data_dir, tray_available=True, open_url=opened, login_item=XdgAutostart())
    assert app.tray is not None
    app.tray.show()
    assert len(settings_windows()) == before

    app.tray.settings_action.trigger()
    qtbot.addWidget(app.window)
    assert app.window in settings_windows() and app.window.isVisible()
    app.shutdown()


def test_open_logs_opens_the_log_file_or_its_folder(desk: DeskApp, opened: OpenedUrls) -> None:
    assert desk.tray is not None
    log_dir = desk.data_dir / "logs"

    desk.tray.open_logs_action.trigger()
    assert opened[-1] == QUrl.fromLocalFile(str(log_dir)).toString()
    assert log_dir.is_dir()

    (log_dir / "chatkit-desk.log").write_text("{}\n")
    desk.tray.open_logs_action.trigger()
    assert opened[-1] == QUrl.fromLocalFile(str(log_dir / "chatkit-desk.log")).toString()


def test_start_at_login_writes_and_removes_the_autostart_entry(
    desk: DeskApp, tmp_path: Path
) -> None:
    assert desk.tray is not None
    entry_file = tmp_path / "config" / "autostart" / "chatkit-desk.desktop"
    assert not desk.tray.autostart_action.isChecked()

    desk.tray.autostart_action.trigger()

    assert desk.tray.autostart_action.isChecked()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(entry_file)
    assert entry["Desktop Entry"]["Type"] == "Application"
    assert entry["Desktop Entry"]["Exec"].endswith(f"tray --data-dir {desk.data_dir}")
    assert Path(entry["Desktop Entry"]["Icon"]).is_file()

    desk.tray.autostart_action.trigger()

    assert not desk.tray.autostart_action.isChecked()
    assert not entry_file.exists()


def test_quit_stops_the_server_and_quits(
    qtbot: QtBot, desk: DeskApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert desk.tray is not None
    quits: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(True))
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)
    pid = desk.supervisor.pid
    assert pid is not None

    desk.tray.quit_action.trigger()

    assert quits == [True]
    assert not pid_alive(pid)


def test_the_tooltip_names_a_tool_while_a_turn_runs_it(
    qtbot: QtBot, desk: DeskApp, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    write_mcp_json(
        data_dir / "mcp.json", {"t": stdio_entry(data_dir / "t", requireApproval="never")}
    )
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)
    assert desk.tray is not None
    token = jwt.encode({"sub": "local", "iat": 0, "exp": 2**31}, TEST_JWT_SECRET, "HS256")
    message = '[tool:t__wait_for {"name": "go"}]'
    body = {"type": "threads.create", "params": {"input": user_input(message)}}
    turn = threading.Thread(
        target=httpx.post,
        args=(f"http://127.0.0.1:{port_of(data_dir)}/chatkit",),
        kwargs={"json": body, "headers": {"Authorization": f"Bearer {token}"}, "timeout": 120},
    )
    turn.start()
    try:
        qtbot.waitUntil(
            lambda: "Using tool: t › wait_for" in desk.tray.icon.toolTip(), timeout=60_000
        )
    finally:
        release(data_dir / "t", "go")
        turn.join(120)
    qtbot.waitUntil(lambda: "Using tool" not in desk.tray.icon.toolTip(), timeout=60_000)
