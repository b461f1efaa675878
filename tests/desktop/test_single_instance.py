"""One tray per data dir, and the tray as a process: a second launch, SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from desktop.app import DeskApp
from desktop.single_instance import SingleInstance
from tests.desktop.helpers import in_order, pid_alive, port_of
from tests.support.desk_process import REPO_ROOT


def launch_tray(data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chatkit_desk", "tray", "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_second_launch_shows_the_first_ones_window_and_exits(
    qtbot: QtBot, desk: DeskApp, data_dir: Path
) -> None:
    instance = SingleInstance(data_dir)
    assert instance.acquire()
    instance.show_requested.connect(desk.show_settings)
    try:
        assert not desk.window.isVisible()
        second = launch_tray(data_dir)
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=60_000)
        output = second.stdout.read().decode() if second.stdout else ""
        assert second.returncode == 0, output
        assert "already running" in output
        assert desk.window.isVisible()
    finally:
        instance.release()


@pytest.mark.parametrize(
    "request_line", [b"show 1\n", b"show\n"], ids=["versioned", "from a tray before versions"]
)
def test_the_answer_carries_the_protocol_version(
    qtbot: QtBot, tmp_path: Path, request_line: bytes
) -> None:
    instance = SingleInstance(tmp_path)
    assert instance.acquire()
    second = QLocalSocket()
    try:
        with qtbot.waitSignal(instance.show_requested, timeout=10_000):
            second.connectToServer(instance.name)
            qtbot.waitUntil(lambda: second.state() is QLocalSocket.LocalSocketState.ConnectedState)
            second.write(request_line)
            second.flush()
        qtbot.waitUntil(second.canReadLine, timeout=10_000)
        assert second.readLine().data() == b"ok 1\n"
    finally:
        second.abort()
        instance.release()


def test_a_lock_left_by_a_dead_tray_is_taken_over(qtbot: QtBot, tmp_path: Path) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c", _HOLD_LOCK_AND_DIE, str(tmp_path)], cwd=REPO_ROOT, check=False
    )
    assert crashed.returncode == 9 and (tmp_path / "tray.lock").exists()
    instance = SingleInstance(tmp_path)
    assert instance.acquire()
    instance.release()


_HOLD_LOCK_AND_DIE = """
import os, sys
from pathlib import Path
from desktop.single_instance import SingleInstance
from PySide6.QtCore import QCoreApplication
app = QCoreApplication([])
instance = SingleInstance(Path(sys.argv[1]))
assert instance.acquire()
os._exit(9)
"""


def server_pid_of(tray_pid: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == tray_pid:
                return int(entry.name)
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_tray_stops_the_server_and_exits(
    data_dir: Path, signal_number: int
) -> None:
    tray = launch_tray(data_dir)
    try:
        server_pid = wait_for_its_server(tray, data_dir)

        tray.send_signal(signal_number)

        assert tray.wait(timeout=30) == 0
        assert not pid_alive(server_pid)
        tray_log = (data_dir / "logs" / "tray.log").read_text()
        assert in_order(
            tray_log,
            "tray started",
            f"the server runs as pid {server_pid}",
            f"quitting on {signal.Signals(signal_number).name}",
            f"asking the server (pid {server_pid}) to stop",
            "tray quit",
        ), tray_log
    finally:
        if tray.poll() is None:
            tray.kill()


def wait_for_its_server(tray: subprocess.Popen[bytes], data_dir: Path) -> int:
    """The PID of the server the tray started, once it answers /health."""
    deadline = time.monotonic() + 60
    server_pid = None
    while server_pid is None or not _answers(port_of(data_dir)):
        assert tray.poll() is None, tray.stdout.read().decode() if tray.stdout else ""
        assert time.monotonic() < deadline, "the tray did not start its server"
        server_pid = server_pid or server_pid_of(tray.pid)
        time.sleep(0.1)
    return server_pid


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_a_crashed_tray_takes_its_server_with_it(data_dir: Path) -> None:
    """kill -9 gives the tray no chance to stop its child: the server notices by itself."""
    tray = launch_tray(data_dir)
    try:
        server_pid = wait_for_its_server(tray, data_dir)

        tray.kill()
        tray.wait()

        deadline = time.monotonic() + 15
        while pid_alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(server_pid), "the server outlived the tray"
    finally:
        if tray.poll() is None:
            tray.kill()
