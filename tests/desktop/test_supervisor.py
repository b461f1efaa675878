"""The supervisor and a real ``serve`` child: start, stop, crash and hang restarts, busy port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop import supervisor as supervisor_module
from desktop import tray_log
from desktop.server_output import ServerOutputLog
from desktop.server_state import ServerState, ServerStatus
from desktop.supervisor import ServerSupervisor, server_command
from tests.desktop.helpers import (
    START_TIMEOUT_MS,
    health,
    in_order,
    pid_alive,
    port_of,
    wait_running,
    wait_state,
)
from tests.support.desk_process import TEST_JWT_SECRET

STUB_SERVER = Path(__file__).with_name("stub_server.py")


@pytest.fixture
def stub_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor runs ``stub_server.py``, ready once the test creates ``ready``."""
    monkeypatch.setattr(
        supervisor_module,
        "server_command",
        lambda data_dir: [sys.executable, str(STUB_SERVER), str(data_dir)],
    )


def test_start_reports_running_with_the_url_then_stop_ends_the_child(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path
) -> None:
    seen: list[ServerStatus] = []
    supervisor.status_changed.connect(seen.append)
    port = port_of(data_dir)

    supervisor.start()
    wait_running(qtbot, supervisor)

    assert [status.state for status in seen[:-1]] == [ServerState.STARTING]
    assert supervisor.health["ready"] is True
    assert supervisor.status.detail == f"http://127.0.0.1:{port}"
    assert f"Running on http://127.0.0.1:{port}" in supervisor.status.tooltip
    assert supervisor.health["model"] == "fake-gpt"
    assert health(port)["app"] == "chatkit-desk"
    pid = supervisor.pid
    assert pid is not None and pid_alive(pid)

    supervisor.stop()
    wait_state(qtbot, supervisor, ServerState.STOPPED)
    assert not pid_alive(pid)
    assert supervisor.pid is None and not supervisor.is_active


def test_the_server_is_starting_until_it_says_it_is_ready(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path, stub_server: None
) -> None:
    supervisor.start()
    qtbot.waitUntil(lambda: supervisor.health.get("ready") is False, timeout=START_TIMEOUT_MS)
    assert supervisor.status.state is ServerState.STARTING, "answering is not being ready"

    (data_dir / "ready").touch()

    wait_running(qtbot, supervisor)
    assert supervisor.health["ready"] is True


def test_the_tools_a_turn_calls_are_in_the_status_while_it_calls_them(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path, stub_server: None
) -> None:
    (data_dir / "ready").touch()
    supervisor.start()
    wait_running(qtbot, supervisor)
    assert supervisor.status.tools_in_use == ()
    assert "tool" not in supervisor.status.tooltip

    (data_dir / "tools-in-use").write_text("files › read_file\n")
    qtbot.waitUntil(lambda: supervisor.status.tools_in_use != (), timeout=START_TIMEOUT_MS)
    assert supervisor.status.tools_in_use == ("files › read_file",)
    assert supervisor.status.tooltip.endswith("\nUsing tool: files › read_file")

    (data_dir / "tools-in-use").unlink()
    qtbot.waitUntil(lambda: supervisor.status.tools_in_use == (), timeout=START_TIMEOUT_MS)
    assert supervisor.status.state is ServerState.RUNNING


def test_the_tooltip_names_every_tool_in_use() -> None:
    running = ServerStatus(
        ServerState.RUNNING,
        "http://127.0.0.1:8765",
        "OpenAI, model gpt-5-mini",
        ("files › read_file", "github › search"),
    )
    assert running.tooltip == (
        "ChatKit Desk\nRunning on http://127.0.0.1:8765\nOpenAI, model gpt-5-mini\n"
        "Using tools: files › read_file, github › search"
    )
    assert "Using" not in ServerStatus(ServerState.RUNNING, "http://127.0.0.1:8765").tooltip


def test_a_server_that_never_becomes_ready_is_killed_and_restarted(
    qtbot: QtBot, data_dir: Path, stub_server: None
) -> None:
    watcher = ServerSupervisor(data_dir, startup_timeout_ms=3000)
    try:
        watcher.start()
        qtbot.waitUntil(lambda: watcher.health.get("ready") is False, timeout=START_TIMEOUT_MS)
        never_ready = watcher.pid
        assert never_ready is not None

        wait_state(qtbot, watcher, ServerState.ERROR)
        assert watcher.status.detail == (
            "the server did not become ready within 3 s; restarting in 1 s"
        )
        assert not pid_alive(never_ready)
        qtbot.waitUntil(lambda: watcher.pid not in (None, never_ready), timeout=START_TIMEOUT_MS)
        assert watcher.status.state is ServerState.STARTING
    finally:
        watcher.shutdown()


def test_a_killed_server_is_restarted(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path
) -> None:
    seen: list[ServerStatus] = []
    supervisor.status_changed.connect(seen.append)
    supervisor.start()
    wait_running(qtbot, supervisor)
    first_pid = supervisor.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)

    qtbot.waitUntil(
        lambda: supervisor.status.state is ServerState.RUNNING and supervisor.pid != first_pid,
        timeout=START_TIMEOUT_MS,
    )
    errors = [status for status in seen if status.state is ServerState.ERROR]
    assert errors and "crashed; restarting in 1 s" in errors[0].detail
    assert health(port_of(data_dir))["status"] == "ok"


def test_the_tray_log_tells_what_happened_to_the_server_and_why(
    qtbot: QtBot, data_dir: Path
) -> None:
    with tray_log.written_to(data_dir / "logs") as log_file:
        watcher = ServerSupervisor(data_dir)
        try:
            watcher.start()
            wait_running(qtbot, watcher)
            first_pid = watcher.pid
            assert first_pid is not None
            os.kill(first_pid, signal.SIGKILL)
            qtbot.waitUntil(
                lambda: watcher.status.state is ServerState.RUNNING and watcher.pid != first_pid,
                timeout=START_TIMEOUT_MS,
            )
            second_pid = watcher.pid
            watcher.stop()
            wait_state(qtbot, watcher, ServerState.STOPPED)
        finally:
            watcher.shutdown()

    text = log_file.read_text()
    assert in_order(
        text,
        "chatkit_desk.tray.server: start requested",
        "starting the server: ",
        f"the server runs as pid {first_pid}",
        "the server answers /health; waiting for it to be ready",
        "the server is ready after",
        f"the server (pid {first_pid}) ended by signal 9",
        "restarting the server in 1 s (attempt 1)",
        f"the server runs as pid {second_pid}",
        "the server is ready after",
        "stop requested",
        f"asking the server (pid {second_pid}) to stop",
        f"the server (pid {second_pid}) ",
        "status: Stopped",
    ), text
    assert TEST_JWT_SECRET not in text


def test_a_hung_server_is_killed_and_restarted(qtbot: QtBot, data_dir: Path) -> None:
    watcher = ServerSupervisor(data_dir, health_interval_ms=300, failed_checks_before_restart=2)
    hung_pid = None
    try:
        watcher.start()
        wait_running(qtbot, watcher)
        hung_pid = watcher.pid
        assert hung_pid is not None

        os.kill(hung_pid, signal.SIGSTOP)  # alive, but answers nothing

        qtbot.waitUntil(
            lambda: watcher.status.state is ServerState.RUNNING and watcher.pid != hung_pid,
            timeout=START_TIMEOUT_MS,
        )
        assert not pid_alive(hung_pid)
    finally:
        watcher.shutdown()
        if hung_pid is not None and pid_alive(
            hung_pid
        ):  # a stopped process would outlive everything
            os.kill(hung_pid, signal.SIGKILL)


def stop_by_closing_stdin(qtbot: QtBot, data_dir: Path) -> tuple[int, str]:
    """Start a server, stop it as the tray does; its pid and the tray's log."""
    with tray_log.written_to(data_dir / "logs") as log_file:
        watcher = ServerSupervisor(data_dir)
        try:
            watcher.start()
            wait_running(qtbot, watcher)
            pid = watcher.pid
            assert pid is not None
            watcher.stop()
            wait_state(qtbot, watcher, ServerState.STOPPED)
        finally:
            watcher.shutdown()
    return pid, log_file.read_text()


def test_closing_its_stdin_stops_the_server_gracefully_before_the_kill_timer(
    qtbot: QtBot, data_dir: Path
) -> None:
    pid, tray_text = stop_by_closing_stdin(qtbot, data_dir)

    assert f"asking the server (pid {pid}) to stop: closing its standard input" in tray_text
    assert "killing it" not in tray_text
    output = (data_dir / "logs" / "server-output.log").read_text()
    assert in_order(
        output, "Shutting down", "Application shutdown complete", f"Finished server process [{pid}]"
    )
    assert not pid_alive(pid)


def test_a_server_stopped_by_closing_its_stdin_exits_with_code_0(
    qtbot: QtBot, data_dir: Path
) -> None:
    pid, tray_text = stop_by_closing_stdin(qtbot, data_dir)

    assert f"the server (pid {pid}) exited with code 0" in tray_text


def test_shutdown_leaves_no_server_running(qtbot: QtBot, data_dir: Path) -> None:
    watcher = ServerSupervisor(data_dir)
    watcher.start()
    wait_running(qtbot, watcher)
    pid = watcher.pid
    assert pid is not None

    watcher.shutdown()  # what Quit, SIGTERM and SIGINT end in; it waits for the child

    assert not pid_alive(pid)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port_of(data_dir))) != 0


def test_a_busy_port_is_an_error_that_says_what_to_do(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path
) -> None:
    port = port_of(data_dir)
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", port))
        other_program.listen()

        supervisor.start()  # the server finds the port taken, says so, and exits with 3
        wait_state(qtbot, supervisor, ServerState.ERROR)

        reason = supervisor.status.detail
        assert f"port {port} on 127.0.0.1 is already in use" in reason
        assert "pick another port in Settings" in reason
        assert not supervisor.is_active, "a busy port is not retried in a loop"
        assert supervisor.pid is None


def test_an_invalid_setting_is_an_error_naming_it(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path
) -> None:
    (data_dir / "settings.json").write_text(json.dumps({"port": "eighty"}))

    supervisor.start()  # the server reads the settings and says what is wrong

    wait_state(qtbot, supervisor, ServerState.ERROR)
    assert "invalid setting port" in supervisor.status.detail
    assert not supervisor.is_active


def test_server_output_goes_to_the_log_file(
    qtbot: QtBot, supervisor: ServerSupervisor, data_dir: Path
) -> None:
    supervisor.start()
    wait_running(qtbot, supervisor)
    log_file = data_dir / "logs" / "server-output.log"

    qtbot.waitUntil(lambda: "ChatKit Desk on http://" in log_file.read_text(), timeout=10_000)
    text = log_file.read_text()
    assert "[tray] starting:" in text
    assert "[stderr]" in text


def test_the_output_log_rotates(tmp_path: Path) -> None:
    output = ServerOutputLog(tmp_path / "logs" / "server-output.log")
    line = b"x" * 199 + b"\n"
    output.feed("stdout", line * 6000)  # about 1.2 MB
    output.feed("stderr", b"half a li")
    output.feed("stderr", b"ne\n")
    output.close()

    files = sorted(path.name for path in (tmp_path / "logs").iterdir())
    assert files == ["server-output.log", "server-output.log.1"]
    assert (tmp_path / "logs" / "server-output.log.1").stat().st_size <= 1_000_000
    assert "[stderr] half a line" in (tmp_path / "logs" / "server-output.log").read_text()
    assert output.last_line("stderr") == "half a line"


def test_the_command_is_the_bundle_itself_when_frozen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert server_command(tmp_path)[1:4] == ["-m", "backend", "serve"]
    monkeypatch.setattr("sys.frozen", True, raising=False)
    monkeypatch.setattr("sys.executable", "/opt/ChatKit Desk/chatkit-desk")
    assert server_command(tmp_path) == [
        "/opt/ChatKit Desk/chatkit-desk",
        "serve",
        "--data-dir",
        str(tmp_path),
    ]


IDLE_TRAY = """
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop.app import DeskApp
from desktop.server_state import ServerState

app = QApplication([])
desk = DeskApp(Path(sys.argv[1]), tray_available=True)
desk.start()


def running() -> None:
    if desk.supervisor.status.state is ServerState.RUNNING:
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "_hashlib"))
        print(desk.supervisor.status.detail, heavy)
        desk.shutdown()
        app.quit()


timer = QTimer()
timer.timeout.connect(running)
timer.start(50)
QTimer.singleShot(90_000, app.quit)
app.exec()
"""


def test_a_running_tray_does_without_the_settings_model(data_dir: Path) -> None:
    """The server's URL comes from its runtime file: pydantic (and OpenSSL's hashes) would be
    most of an idle tray's memory beyond Qt's."""
    answer = subprocess.run(
        [sys.executable, "-c", IDLE_TRAY, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert answer.stdout.split(" ", 1) == [f"http://127.0.0.1:{port_of(data_dir)}", "[]\n"]
    assert not (data_dir / "server.json").exists(), "the server removes it when it stops"
