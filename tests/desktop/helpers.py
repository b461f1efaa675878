"""Helpers shared by the tray app's tests."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from desktop.server_state import ServerState
from desktop.supervisor import ServerSupervisor

START_TIMEOUT_MS = 90_000
"""Until the server is ready. Generous: two cores, and a browser test suite may run at the same
time; longer than the supervisor's own start-up deadline, which restarts a slow server."""


KEYRING_TIMEOUT_MS = 30_000
"""For an answer from the keyring thread: normally at once, but the machine may be busy."""


def port_of(data_dir: Path) -> int:
    return json.loads((data_dir / "settings.json").read_text())["port"]


class OpenedUrls(list[str]):
    """Stands in for the desktop's browser and file manager."""

    def __call__(self, url: object) -> bool:
        self.append(url.toString())  # type: ignore[attr-defined]
        return True


def health(port: int) -> dict[str, object]:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def in_order(text: str, *fragments: str) -> bool:
    """Whether each fragment occurs in ``text`` after the one before it."""
    position = 0
    for fragment in fragments:
        found = text.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


def wait_running(qtbot: QtBot, supervisor: ServerSupervisor) -> None:
    qtbot.waitUntil(
        lambda: supervisor.status.state is ServerState.RUNNING, timeout=START_TIMEOUT_MS
    )


def wait_state(qtbot: QtBot, supervisor: ServerSupervisor, state: ServerState) -> None:
    qtbot.waitUntil(lambda: supervisor.status.state is state, timeout=START_TIMEOUT_MS)


def event_loop_turns(qtbot: QtBot) -> None:
    """Fail unless a timer fires a few times: nothing blocks the GUI thread."""
    ticks: list[None] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(None))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=10_000)
    timer.stop()
