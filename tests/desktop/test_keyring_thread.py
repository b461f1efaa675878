"""The keyring thread: calls in order off the GUI thread, answers on it, failures named."""

from __future__ import annotations

import logging
import threading
from functools import partial

import pytest
import shiboken6
from PySide6.QtCore import QObject, Slot
from pytestqt.qtbot import QtBot

from backend.secrets import KeyringUnavailable
from desktop import keyring_thread
from tests.desktop.helpers import KEYRING_TIMEOUT_MS


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[tuple[object, str]] = []

    @Slot(object)
    def take(self, answer: object) -> None:
        self.answers.append((answer, threading.current_thread().name))


def thread_name(label: str) -> tuple[str, str]:
    return label, threading.current_thread().name


def test_calls_run_in_order_off_the_gui_thread_and_answer_on_it(qtbot: QtBot) -> None:
    receiver = Receiver()
    for number in range(5):
        keyring_thread.ask(partial(thread_name, f"call {number}"), receiver.take)

    qtbot.waitUntil(lambda: len(receiver.answers) == 5, timeout=KEYRING_TIMEOUT_MS)

    gui_thread = threading.main_thread().name
    assert receiver.answers == [((f"call {n}", "keyring"), gui_thread) for n in range(5)]


def test_an_answer_to_an_object_deleted_meanwhile_is_dropped(qtbot: QtBot) -> None:
    release = threading.Event()
    gone, alive = Receiver(), Receiver()
    keyring_thread.ask(partial(release.wait, 60), gone.take)
    shiboken6.delete(gone)
    release.set()

    keyring_thread.ask(lambda: "later", alive.take)  # answered after the first, if at all

    qtbot.waitUntil(lambda: bool(alive.answers), timeout=KEYRING_TIMEOUT_MS)
    assert alive.answers[0][0] == "later"
    assert gone.answers == []


def failing_backend() -> None:
    raise RuntimeError("the D-Bus connection broke")


def test_an_unexpected_failure_is_logged_and_answered_as_an_unusable_keyring(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver()
    with caplog.at_level(logging.DEBUG, logger="chatkit_desk.tray.keyring"):
        keyring_thread.ask(failing_backend, receiver.take)
        qtbot.waitUntil(lambda: bool(receiver.answers), timeout=KEYRING_TIMEOUT_MS)

    [(answer, _thread)] = receiver.answers
    assert isinstance(answer, KeyringUnavailable)
    assert str(answer) == "the keyring failed (RuntimeError)"
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert failure.getMessage() == "failing_backend failed"
    assert failure.exc_info is not None


def test_a_refusal_is_the_answer(qtbot: QtBot) -> None:
    receiver = Receiver()

    def locked() -> None:
        raise KeyringUnavailable("the system keyring is locked")

    keyring_thread.ask(locked, receiver.take)

    qtbot.waitUntil(lambda: bool(receiver.answers), timeout=KEYRING_TIMEOUT_MS)
    [(answer, _thread)] = receiver.answers
    assert isinstance(answer, KeyringUnavailable) and str(answer) == "the system keyring is locked"
