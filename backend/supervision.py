"""The contract between the tray and the server it supervises (no server imports here).

The tray starts ``chatkit-desk serve`` as a child process and knows it only through what this
module defines: the exit codes ``serve`` ends with, where it listens (a runtime file), what
``GET /health`` answers (and when the server is ready to chat), how a port is bound and probed,
and how the child is asked to stop. Both sides import it, so neither matches the other's text.

Once listening, the server writes its URL and pid to ``server.json`` in the data dir (as Jupyter
does with its runtime files), so the tray finds it without loading the settings, whose model
(pydantic) would be most of an idle tray's memory beyond Qt's.
"""

from __future__ import annotations

import ctypes
import enum
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

APP_MARKER = "chatkit-desk"
"""``GET /health`` answers ``"app": "chatkit-desk"``: whoever else holds the port does not."""

HEALTH_PATH = "/health"

WATCH_PARENT_ENV = "CHATKIT_DESK_WATCH_PARENT"
"""Set to ``1`` by the tray: the server then stops by itself when the tray is gone, even if the
tray was killed and could not stop it, and takes the end of its standard input as a request to
stop gracefully (the tray's way to stop it on Windows, which has no SIGTERM)."""

RUNTIME_FILE_NAME = "server.json"
PR_SET_PDEATHSIG = 1
_EADDRINUSE = (98, 48, 10048)  # Linux, macOS, Windows


class ExitCode(enum.IntEnum):
    """How ``serve`` ends; the tray restarts it only after ``FAILED`` or a crash."""

    OK = 0
    FAILED = 1
    USAGE = 2
    """An invalid setting or argument (the message is the last line on stderr)."""
    PORT_IN_USE = 3
    """The configured port is taken by another program."""


class PortInUse(Exception):
    """The port is taken; the message says how to pick another (where the user would)."""

    def __init__(self, host: str, port: int) -> None:
        supervised = os.environ.get(WATCH_PARENT_ENV) == "1"  # by the tray, with its Settings
        choose = (
            "pick another port in Settings"
            if supervised
            else "pick another port: --port N or CHATKIT_DESK_PORT=N"
        )
        super().__init__(
            f"port {port} on {host} is already in use (another ChatKit Desk?) — stop that "
            f"program, or {choose}"
        )
        self.host = host
        self.port = port


def _socket_for(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform != "win32":  # on Windows SO_REUSEADDR would let two servers share a port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or ``PortInUse`` if another program has it."""
    sock = _socket_for(host)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno in _EADDRINUSE:
            raise PortInUse(host, port) from None
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def port_is_free(host: str, port: int) -> bool:
    """Whether ``serve`` could bind ``host:port`` now (probed the way ``bind`` binds)."""
    try:
        bind(host, port).close()
    except (PortInUse, OSError):
        return False
    return True


def write_runtime_file(data_dir: Path, url: str) -> None:
    """Say where this server listens (atomically: the tray may be reading)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{RUNTIME_FILE_NAME}.{os.getpid()}"
    temporary.write_text(json.dumps({"url": url, "pid": os.getpid()}), encoding="utf-8")
    os.replace(temporary, data_dir / RUNTIME_FILE_NAME)


def remove_runtime_file(data_dir: Path) -> None:
    """The server is stopping: remove its runtime file, unless another server has replaced it."""
    if server_url(data_dir, os.getpid()) is not None:
        (data_dir / RUNTIME_FILE_NAME).unlink(missing_ok=True)


def server_url(data_dir: Path, pid: int) -> str | None:
    """The URL of the server with this pid, once it listens; ``None`` until then."""
    try:
        content = json.loads((data_dir / RUNTIME_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("pid") != pid:
        return None
    url = content.get("url")
    return url if isinstance(url, str) else None


def health_answer(ready: bool, **details: Any) -> dict[str, Any]:
    """What ``GET /health`` answers: ``ready`` is false until the chat stack has loaded."""
    return {"status": "ok", "app": APP_MARKER, "ready": ready, **details}


def read_health(body: bytes) -> dict[str, Any] | None:
    """A ``/health`` answer of ChatKit Desk, or ``None`` for anything else on that port."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict) or answer.get("app") != APP_MARKER:
        return None
    return answer


def stop_when_parent_exits(poll_seconds: float = 1.0) -> None:
    """For a supervised child: stop (as on Ctrl+C) when the tray is gone or closes our stdin.

    On Linux the kernel delivers SIGTERM the moment the parent dies (``PR_SET_PDEATHSIG``). On
    every platform the end of standard input (the tray closed it, or died) asks for the same
    graceful stop, and a thread polls for the parent as a last resort. The signal goes first:
    with the parent gone, writing a log line to its pipe may fail.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            _stop_gracefully()

    def watch_stdin() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            return  # no usable stdin: the parent poll below still stands guard
        _stop_gracefully()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        _stop_gracefully()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()


def _stop_gracefully() -> None:
    """What Ctrl+C does to uvicorn: finish open responses, then exit with 0 (from any thread;
    uvicorn re-raises the signal it stopped for, and only SIGINT then ends in a clean exit)."""
    signal.raise_signal(signal.SIGINT)
