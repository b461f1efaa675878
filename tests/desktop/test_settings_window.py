"""The settings window: validation, the keyring round trip, "Test", and when the server restarts."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from backend.settings import DEFAULT_INSTRUCTIONS
from desktop.app import NO_TRAY_REASON, DeskApp
from desktop.autostart import XdgAutostart
from desktop.server_state import ServerState
from desktop.settings_window import SettingsWindow
from tests.desktop.helpers import (
    START_TIMEOUT_MS,
    OpenedUrls,
    health,
    port_of,
    wait_running,
    wait_state,
)
from tests.support.desk_process import free_port
from tests.support.keyrings import MemoryKeyring


def shown(label: QLabel) -> bool:
    return not label.isHidden() and bool(label.text())


@pytest.fixture
def window(desk: DeskApp) -> SettingsWindow:
    desk.show_settings()
    return desk.window


def test_a_bad_port_is_an_inline_error_and_nothing_is_saved(
    window: SettingsWindow, data_dir: Path, memory_keyring: MemoryKeyring
) -> None:
    before = (data_dir / "settings.json").read_bytes()
    window.tabs.setCurrentIndex(0)
    window.panels["openai"].key_edit.setText("sk-new-key")
    window.instructions_edit.setPlainText("Be brief.")
    window.port_edit.setText("99999")

    assert window.save() is False

    assert shown(window.port_error)
    assert "from 1 to 65535" in window.port_error.text()
    assert window.tabs.currentIndex() == 2, "the tab with the error is shown"
    assert "Not saved" in window.message.text()
    assert (data_dir / "settings.json").read_bytes() == before
    assert memory_keyring.entries == {}


def test_a_port_taken_by_another_program_is_refused(window: SettingsWindow) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        window.port_edit.setText(str(other_program.getsockname()[1]))
        assert window.save() is False
    assert "in use by another program" in window.port_error.text()


def test_a_bad_origin_and_empty_fields_are_inline_errors(
    window: SettingsWindow, data_dir: Path
) -> None:
    before = (data_dir / "settings.json").read_bytes()
    window.origins_edit.setPlainText("http://localhost:5173\nlocalhost:3000")
    window.instructions_edit.setPlainText("  ")
    window.panels["gemini"].set_model("")
    window.panels["openai"].key_edit.setText("sk-with a space")

    assert window.save() is False

    assert "'localhost:3000' is not an origin" in window.origins_error.text()
    assert shown(window.instructions_error)  # on another tab: not visible, but not hidden
    assert shown(window.panels["gemini"].model_error)
    assert "spaces" in window.panels["openai"].key_error.text()
    assert window.tabs.currentIndex() == 0
    assert (data_dir / "settings.json").read_bytes() == before


def test_save_round_trip_through_the_keyring(
    qtbot: QtBot,
    desk: DeskApp,
    data_dir: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    window = desk.window
    desk.show_settings()
    panel = window.panels["openai"]
    assert panel.key_edit.echoMode() is QLineEdit.EchoMode.Password
    panel.show_button.click()
    assert panel.key_edit.echoMode() is QLineEdit.EchoMode.Normal
    panel.key_edit.setText("sk-round-trip")
    window.panels["gemini"].key_edit.setText("gm-round-trip")
    window.provider_combo.setCurrentIndex(window.provider_combo.findData("gemini"))
    window.panels["gemini"].set_model("fake-mini")
    window.instructions_edit.setPlainText("Answer in French.")
    window.origins_edit.setPlainText("http://localhost:5173/\n\nhttp://127.0.0.1:3000")
    window.starts_server_check.setChecked(False)

    assert window.save() is True

    assert memory_keyring.entries == {
        ("chatkit-desk", "openai"): "sk-round-trip",
        ("chatkit-desk", "gemini"): "gm-round-trip",
    }
    saved = json.loads((data_dir / "settings.json").read_text())
    assert saved["provider"] == "gemini" and saved["gemini_model"] == "fake-mini"
    assert saved["instructions"] == "Answer in French."
    assert saved["allowed_origins"] == ["http://localhost:5173", "http://127.0.0.1:3000"]
    assert saved["tray_starts_server"] is False
    assert not any("round-trip" in value for value in map(str, saved.values()))
    assert "saved in the keyring" in window.message.text()

    window.close()
    desk.show_settings()  # a fresh look: keys are never read back into the fields
    assert panel.key_edit.text() == ""
    assert "A key is stored in the keyring" in panel.stored_label.text()
    assert window.provider_combo.currentData() == "gemini"
    assert window.panels["gemini"].model == "fake-mini"
    assert window.instructions_edit.toPlainText() == "Answer in French."
    assert not window.starts_server_check.isChecked()


def test_a_key_from_the_environment_is_named_not_shown(
    window: SettingsWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    window.close()
    window.show_and_raise()
    assert "environment variable OPENAI_API_KEY" in window.panels["openai"].stored_label.text()
    assert "sk-from-env" not in window.panels["openai"].stored_label.text()
    assert window.panels["openai"].key_edit.text() == ""


def test_remove_deletes_the_stored_key(
    window: SettingsWindow, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("chatkit-desk", "openai", "sk-old")
    window.close()
    window.show_and_raise()
    panel = window.panels["openai"]
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    assert memory_keyring.entries == {}
    assert panel.stored_label.text() == "No key is stored yet."


def test_reset_instructions_to_default(window: SettingsWindow) -> None:
    window.instructions_edit.setPlainText("Something else")
    window.reset_instructions_button.click()
    assert window.instructions_edit.toPlainText() == DEFAULT_INSTRUCTIONS


def test_the_keyring_in_use_is_named_and_an_unusable_one_warned_about(
    window: SettingsWindow,
) -> None:
    assert "tests.support.keyrings.MemoryKeyring" in window.keyring_label.text()
    assert window.keyring_warning.isHidden()
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        window.close()
        window.show_and_raise()
        assert window.keyring_warning.isVisible()
        assert "keys cannot be stored" in window.keyring_warning.text()
        window.panels["openai"].key_edit.setText("sk-nowhere")
        assert window.save() is False
        assert "Not saved" in window.message.text()
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize(
    ("key", "verdict"),
    [("sk-good-key", "✓ The key works — 3 models available."), ("sk-bad-key", "✗ OpenAI rejected")],
)
def test_the_test_button_says_whether_the_key_works(
    qtbot: QtBot, window: SettingsWindow, key: str, verdict: str
) -> None:
    panel = window.panels["openai"]
    panel.key_edit.setText(key)

    panel.test_button.click()

    qtbot.waitUntil(lambda: panel.test_result.text().startswith(("✓", "✗")), timeout=15_000)
    assert panel.test_result.text().startswith(verdict)
    models = [panel.model_combo.itemText(i) for i in range(panel.model_combo.count())]
    if key == "sk-good-key":
        assert models == ["fake-gemini", "fake-gpt", "fake-mini"]
        assert panel.model == "fake-gpt", "testing keeps the chosen model"
    else:
        assert models == []


def test_a_new_model_applies_without_a_restart(qtbot: QtBot, desk: DeskApp, data_dir: Path) -> None:
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)
    pid = desk.supervisor.pid
    desk.show_settings()

    desk.window.panels["openai"].set_model("fake-mini")
    assert desk.window.save() is True

    assert "the server keeps running" in desk.window.message.text()
    assert health(port_of(data_dir))["model"] == "fake-mini"
    assert desk.supervisor.pid == pid
    assert desk.supervisor.status.state is ServerState.RUNNING


def test_a_new_port_restarts_the_server_on_it(qtbot: QtBot, desk: DeskApp, data_dir: Path) -> None:
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)
    old_pid, new_port = desk.supervisor.pid, free_port()
    desk.show_settings()

    desk.window.port_edit.setText(str(new_port))
    assert desk.window.save() is True

    assert f"restarting on port {new_port}" in desk.window.message.text()
    qtbot.waitUntil(
        lambda: desk.supervisor.status.detail == f"http://127.0.0.1:{new_port}",
        timeout=START_TIMEOUT_MS,
    )
    assert desk.supervisor.pid != old_pid
    assert health(new_port)["status"] == "ok"


def test_without_a_tray_the_window_says_why_and_controls_the_server(
    qtbot: QtBot, data_dir: Path, opened: OpenedUrls, memory_keyring: MemoryKeyring
) -> None:
    desk = DeskApp(data_dir, tray_available=False, open_url=opened, login_item=XdgAutostart())
    qtbot.addWidget(desk.window)
    try:
        save_no_autostart(data_dir)
        desk.start()
        assert desk.tray is None
        assert desk.window.isVisible()
        assert desk.window.notice.text() == NO_TRAY_REASON and desk.window.notice.isVisible()
        panel = desk.window.status_panel
        assert panel.start_stop_button.text() == "Start server"

        panel.start_stop_button.click()
        wait_running(qtbot, desk.supervisor)
        assert panel.summary_label.text().startswith("Running on http://127.0.0.1:")
        assert panel.start_stop_button.text() == "Stop server"
        panel.open_chat_button.click()
        assert "/login?token=" in opened[-1]

        panel.start_stop_button.click()
        wait_state(qtbot, desk.supervisor, ServerState.STOPPED)
        assert panel.start_stop_button.text() == "Start server"
    finally:
        desk.shutdown()


def save_no_autostart(data_dir: Path) -> None:
    """The server is started by the test itself, to see the window's button do it."""
    settings = json.loads((data_dir / "settings.json").read_text())
    (data_dir / "settings.json").write_text(json.dumps({**settings, "tray_starts_server": False}))
