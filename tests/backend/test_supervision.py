"""The tray/server contract: exit codes, the runtime file, /health, ports, the stop request."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from backend.supervision import (
    RUNTIME_FILE_NAME,
    WATCH_PARENT_ENV,
    ExitCode,
    PortInUse,
    bind,
    health_answer,
    port_is_free,
    read_health,
    remove_runtime_file,
    server_url,
    write_runtime_file,
)


def test_the_exit_codes_the_tray_relies_on_never_change() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3]


def test_the_url_is_found_for_the_server_that_wrote_it(tmp_path: Path) -> None:
    assert server_url(tmp_path, os.getpid()) is None  # not listening yet

    write_runtime_file(tmp_path, "http://127.0.0.1:8765")

    assert server_url(tmp_path, os.getpid()) == "http://127.0.0.1:8765"
    assert server_url(tmp_path, os.getpid() + 1) is None, "another server's file"
    assert [p.name for p in tmp_path.iterdir()] == [RUNTIME_FILE_NAME]


def test_a_stopping_server_removes_only_its_own_file(tmp_path: Path) -> None:
    (tmp_path / RUNTIME_FILE_NAME).write_text('{"url": "http://127.0.0.1:1", "pid": 1}')
    remove_runtime_file(tmp_path)
    assert (tmp_path / RUNTIME_FILE_NAME).exists()

    write_runtime_file(tmp_path, "http://127.0.0.1:8765")
    remove_runtime_file(tmp_path)
    assert not (tmp_path / RUNTIME_FILE_NAME).exists()


def test_a_damaged_runtime_file_is_no_url(tmp_path: Path) -> None:
    for content in ("{", "[]", f'{{"pid": {os.getpid()}}}'):
        (tmp_path / RUNTIME_FILE_NAME).write_text(content)
        assert server_url(tmp_path, os.getpid()) is None


def test_health_says_who_it_is_and_whether_it_is_ready() -> None:
    answer = health_answer(False, provider="openai")
    assert answer == {"status": "ok", "app": "chatkit-desk", "ready": False, "provider": "openai"}
    assert read_health(json.dumps(answer).encode()) == answer
    for other in (b"not json", b"[]", b'{"app": "someone-else"}'):
        assert read_health(other) is None


def test_a_taken_port_is_refused_with_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        monkeypatch.delenv(WATCH_PARENT_ENV, raising=False)
        with pytest.raises(PortInUse, match="--port N or CHATKIT_DESK_PORT=N"):
            bind("127.0.0.1", port)
        monkeypatch.setenv(WATCH_PARENT_ENV, "1")  # started by the tray: its user has Settings
        with pytest.raises(PortInUse, match="pick another port in Settings"):
            bind("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)
    listening = bind("127.0.0.1", port)
    listening.close()
