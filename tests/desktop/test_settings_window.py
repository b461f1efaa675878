"""The settings window: validation, the keyring round trip, "Test", and when the server restarts.

The keyring is read and written off the GUI thread, so the tests wait for its answers.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from backend.settings import DEFAULT_INSTRUCTIONS
from desktop.app import NO_TRAY_REASON, DeskApp
from desktop.autostart import XdgAutostart
from desktop.provider_panel import READING
from desktop.server_state import ServerState
from desktop.settings_window import SettingsWindow
from tests.desktop.helpers import (
    KEYRING_TIMEOUT_MS,
    START_TIMEOUT_MS,
    OpenedUrls,
    event_loop_turns,
    health,
    port_of,
    wait_running,
    wait_state,
)
from tests.support.desk_process import free_port
from tests.support.keyrings import BlockingKeyring, MemoryKeyring


def shown(label: QLabel) -> bool:
    return not label.isHidden() and bool(label.text())


def keyring_read(qtbot: QtBot, window: SettingsWindow) -> None:
    """Wait until every label that reads the keyring shows its answer."""
    labels = [panel.stored_label for panel in window.panels.values()]
    labels.append(window.keyring_note.name_label)
    qtbot.waitUntil(
        lambda: all(label.text() != READING for label in labels), timeout=KEYRING_TIMEOUT_MS
    )


def reopen(qtbot: QtBot, window: SettingsWindow) -> None:
    """Close the window and show it again: it reads the settings and the keyring afresh."""
    window.close()
    window.show_and_raise()
    keyring_read(qtbot, window)


def save(qtbot: QtBot, window: SettingsWindow) -> bool:
    """Save valid fields and wait until it is written; whether all of it was."""
    with qtbot.waitSignal(window.save_finished, timeout=KEYRING_TIMEOUT_MS) as finished:
        assert window.save() is True, "the fields are valid"
    return finished.args[0]


@pytest.fixture
def window(qtbot: QtBot, desk: DeskApp) -> SettingsWindow:
    desk.show_settings()
    keyring_read(qtbot, desk.window)
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
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="chatkit_desk.tray")
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

    assert save(qtbot, window) is True

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

    reopen(qtbot, window)  # a fresh look: keys are never read back into the fields
    assert panel.key_edit.text() == ""
    assert "A key is stored in the keyring" in panel.stored_label.text()
    assert window.provider_combo.currentData() == "gemini"
    assert window.panels["gemini"].model == "fake-mini"
    assert window.instructions_edit.toPlainText() == "Answer in French."
    assert not window.starts_server_check.isChecked()
    assert "keyring" in caplog.text and "round-trip" not in caplog.text, "no key in the log"


def test_reasoning_and_tool_steps_round_trip(
    qtbot: QtBot, window: SettingsWindow, data_dir: Path
) -> None:
    panel = window.reasoning_panel
    assert panel.effort_combo.currentData() is None, "the model's default to begin with"
    assert panel.summary_combo.currentData() is None
    assert panel.steps_edit.text() == "10"
    panel.effort_combo.setCurrentIndex(panel.effort_combo.findData("high"))
    panel.summary_combo.setCurrentIndex(panel.summary_combo.findData("detailed"))
    panel.steps_edit.setText(" 25 ")

    assert save(qtbot, window) is True

    saved = json.loads((data_dir / "settings.json").read_text())
    assert saved["reasoning_effort"] == "high" and saved["reasoning_summary"] == "detailed"
    assert saved["max_tool_steps"] == 25
    reopen(qtbot, window)
    assert panel.effort_combo.currentData() == "high"
    assert panel.summary_combo.currentData() == "detailed"
    assert panel.steps_edit.text() == "25"

    panel.effort_combo.setCurrentIndex(panel.effort_combo.findData("none"))
    panel.summary_combo.setCurrentIndex(panel.summary_combo.findData(None))
    assert save(qtbot, window) is True
    saved = json.loads((data_dir / "settings.json").read_text())
    assert saved["reasoning_effort"] == "none" and saved["reasoning_summary"] is None


@pytest.mark.parametrize("typed", ["0", "101", "ten", ""])
def test_tool_steps_out_of_range_are_an_inline_error(
    window: SettingsWindow, data_dir: Path, typed: str
) -> None:
    before = (data_dir / "settings.json").read_bytes()
    window.tabs.setCurrentIndex(2)
    window.reasoning_panel.steps_edit.setText(typed)

    assert window.save() is False

    assert "from 1 to 100" in window.reasoning_panel.steps_error.text()
    assert shown(window.reasoning_panel.steps_error)
    assert window.tabs.currentIndex() == 0
    assert (data_dir / "settings.json").read_bytes() == before


def test_the_window_opens_and_responds_while_the_keyring_waits_to_be_unlocked(
    qtbot: QtBot, desk: DeskApp, blocking_keyring: BlockingKeyring
) -> None:
    blocking_keyring.entries[("chatkit-desk", "openai")] = "sk-stored"

    desk.show_settings()

    window, panel = desk.window, desk.window.panels["openai"]
    assert window.isVisible()
    qtbot.waitUntil(blocking_keyring.entered.is_set, timeout=KEYRING_TIMEOUT_MS)
    assert panel.stored_label.text() == READING
    assert window.keyring_note.name_label.text() == READING
    assert not panel.remove_button.isEnabled()
    event_loop_turns(qtbot)
    QTimer.singleShot(0, panel.show_button.click)  # runs only if the event loop does
    qtbot.waitUntil(lambda: panel.key_edit.echoMode() is QLineEdit.EchoMode.Normal)

    blocking_keyring.released.set()

    keyring_read(qtbot, window)
    assert panel.stored_label.text().startswith("A key is stored in the keyring.")
    assert panel.remove_button.isEnabled()
    assert "tests.support.keyrings.BlockingKeyring" in window.keyring_note.name_label.text()


def test_save_waits_for_the_keyring_with_the_form_disabled_then_writes_it_all(
    qtbot: QtBot, window: SettingsWindow, blocking_keyring: BlockingKeyring, data_dir: Path
) -> None:
    before = (data_dir / "settings.json").read_bytes()
    window.panels["openai"].key_edit.setText("sk-saved-slowly")
    window.instructions_edit.setPlainText("Take your time.")

    with qtbot.waitSignal(window.save_finished, timeout=KEYRING_TIMEOUT_MS) as finished:
        assert window.save() is True
        qtbot.waitUntil(blocking_keyring.entered.is_set, timeout=KEYRING_TIMEOUT_MS)
        assert not window.save_button.isEnabled() and not window.tabs.isEnabled()
        assert window.message.text().startswith("Saving the keys in the keyring")
        assert (data_dir / "settings.json").read_bytes() == before, "keys first, then settings"
        assert window.save() is False, "one save at a time"
        event_loop_turns(qtbot)

        blocking_keyring.released.set()

    assert finished.args == [True]
    assert blocking_keyring.entries == {("chatkit-desk", "openai"): "sk-saved-slowly"}
    assert json.loads((data_dir / "settings.json").read_text())["instructions"] == (
        "Take your time."
    )
    assert window.save_button.isEnabled() and window.tabs.isEnabled()
    assert "OpenAI key saved in the keyring" in window.message.text()
    assert window.panels["openai"].key_edit.text() == ""


def test_a_key_from_the_environment_is_named_not_shown(
    qtbot: QtBot, window: SettingsWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    reopen(qtbot, window)
    assert "environment variable OPENAI_API_KEY" in window.panels["openai"].stored_label.text()
    assert "sk-from-env" not in window.panels["openai"].stored_label.text()
    assert window.panels["openai"].key_edit.text() == ""


def test_remove_deletes_the_stored_key(
    qtbot: QtBot, window: SettingsWindow, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("chatkit-desk", "openai", "sk-old")
    reopen(qtbot, window)
    panel = window.panels["openai"]
    assert panel.remove_button.isEnabled()

    panel.remove_button.click()

    qtbot.waitUntil(
        lambda: panel.stored_label.text() == "No key is stored yet.", timeout=KEYRING_TIMEOUT_MS
    )
    assert memory_keyring.entries == {}
    assert not panel.remove_button.isEnabled()


def test_reset_instructions_to_default(window: SettingsWindow) -> None:
    window.instructions_edit.setPlainText("Something else")
    window.reset_instructions_button.click()
    assert window.instructions_edit.toPlainText() == DEFAULT_INSTRUCTIONS


def test_the_keyring_in_use_is_named_and_an_unusable_one_warned_about(
    qtbot: QtBot, window: SettingsWindow, data_dir: Path
) -> None:
    note = window.keyring_note
    assert "tests.support.keyrings.MemoryKeyring" in note.name_label.text()
    assert note.warning_label.isHidden()
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        reopen(qtbot, window)
        assert note.warning_label.isVisible()
        assert "keys cannot be stored" in note.warning_label.text()
        before = (data_dir / "settings.json").read_bytes()
        window.panels["openai"].key_edit.setText("sk-nowhere")
        window.instructions_edit.setPlainText("Not saved either.")

        assert save(qtbot, window) is False

        assert "the keyring did not take the OpenAI key" in window.message.text()
        assert "no system keyring" in window.panels["openai"].key_error.text()
        assert (data_dir / "settings.json").read_bytes() == before
        assert window.save_button.isEnabled() and window.tabs.isEnabled()
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


def test_with_no_key_typed_test_checks_the_stored_one(
    qtbot: QtBot, window: SettingsWindow, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("chatkit-desk", "openai", "sk-good-key")
    reopen(qtbot, window)
    panel = window.panels["openai"]

    panel.test_button.click()

    qtbot.waitUntil(lambda: panel.test_result.text().startswith(("✓", "✗")), timeout=15_000)
    assert panel.test_result.text() == "✓ The key works — 3 models available."
    assert panel.key_edit.text() == "", "the stored key is never shown"


def test_a_new_model_applies_without_a_restart(qtbot: QtBot, desk: DeskApp, data_dir: Path) -> None:
    desk.supervisor.start()
    wait_running(qtbot, desk.supervisor)
    pid = desk.supervisor.pid
    desk.show_settings()

    desk.window.panels["openai"].set_model("fake-mini")
    assert save(qtbot, desk.window) is True

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
    assert save(qtbot, desk.window) is True

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
        qtbot.waitUntil(lambda: bool(opened), timeout=KEYRING_TIMEOUT_MS)
        assert "/login?token=" in opened[-1]
        assert desk.window.message.text() == "Opening the chat in your browser"

        panel.start_stop_button.click()
        wait_state(qtbot, desk.supervisor, ServerState.STOPPED)
        assert panel.start_stop_button.text() == "Start server"
    finally:
        desk.shutdown()


def save_no_autostart(data_dir: Path) -> None:
    """The server is started by the test itself, to see the window's button do it."""
    settings = json.loads((data_dir / "settings.json").read_text())
    (data_dir / "settings.json").write_text(json.dumps({**settings, "tray_starts_server": False}))
