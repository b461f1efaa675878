"""Runs ``chatkit-desk serve`` as a child process, watches ``/health``, restarts it after a crash.

The server is a separate process (as Ollama's tray does it): a crash or hang of the server never
takes the tray down. The child gets ``CHATKIT_DESK_WATCH_PARENT=1`` and so stops by itself when
the tray dies without having had the chance to stop it. Every step and decision is logged to
``tray_log.server`` (``logs/tray.log``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, QUrl, Signal, Slot
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkProxy, QNetworkReply, QNetworkRequest

from backend.secrets import PROVIDER_LABELS
from backend.supervision import HEALTH_PATH, WATCH_PARENT_ENV, ExitCode, read_health, server_url
from desktop.server_output import ServerOutputLog
from desktop.server_state import ServerState, ServerStatus
from desktop.tray_log import server as log

RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER_SECONDS = 60.0
"""A server that ran this long before crashing is restarted after the shortest delay again."""
STARTUP_TIMEOUT_MS = 60_000
"""From start to ready (``/health`` says ``"ready": true``): loading the SDKs takes a few
seconds, and 20 or more on a busy machine."""
OUTPUT_LOG_NAME = "server-output.log"


def server_command(data_dir: Path) -> list[str]:
    """The same executable in a PyInstaller bundle; ``python -m backend`` in development."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "serve", "--data-dir", str(data_dir)]
    return [sys.executable, "-m", "backend", "serve", "--data-dir", str(data_dir)]


class ServerSupervisor(QObject):
    """Starts, stops and watches the server child; ``status_changed`` says what it is doing.

    The server is starting until ``/health`` says it is ready (it answers at once, ``"ready":
    false``, while the chat stack loads), then running. One that is not ready within the
    start-up timeout is killed and restarted, like one that never answered.
    """

    status_changed = Signal(ServerStatus)

    def __init__(
        self,
        data_dir: Path,
        parent: QObject | None = None,
        *,
        restart_delays: tuple[float, ...] = RESTART_DELAYS,
        health_interval_ms: int = 2000,
        startup_timeout_ms: int = STARTUP_TIMEOUT_MS,
        stop_timeout_ms: int = 10_000,
        failed_checks_before_restart: int = 3,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.output = ServerOutputLog(data_dir / "logs" / OUTPUT_LOG_NAME)
        self._restart_delays = restart_delays
        self._health_interval_ms = health_interval_ms
        self._startup_timeout_ms = startup_timeout_ms
        self._stop_timeout_ms = stop_timeout_ms
        self._failed_checks_before_restart = failed_checks_before_restart

        self._process: QProcess | None = None
        self._server_url: str | None = None
        """Where the running server listens, from its runtime file once it has written it."""
        self._status = ServerStatus(ServerState.STOPPED)
        self._health: dict[str, object] = {}
        self._wanted = False
        self._restart_requested = False
        self._attempt = 0
        self._running_since: float | None = None
        self._failed_checks = 0
        self._check_in_flight: QNetworkReply | None = None
        self._child_pid: int | None = None
        """Kept for the log after the process has ended (when ``processId()`` says 0)."""
        self._launched_at = 0.0
        self._kill_reason: str | None = None
        """Why the tray killed the server, to say instead of "crashed"."""

        self._network = QNetworkAccessManager(self)
        self._network.setProxy(QNetworkProxy(QNetworkProxy.ProxyType.NoProxy))
        self._health_timer = QTimer(self)
        self._health_timer.timeout.connect(self._check_health)
        self._startup_deadline = QTimer(self, singleShot=True)
        self._startup_deadline.timeout.connect(self._startup_timed_out)
        self._restart_timer = QTimer(self, singleShot=True)
        self._restart_timer.timeout.connect(self._launch)
        self._kill_timer = QTimer(self, singleShot=True)
        self._kill_timer.timeout.connect(self._kill)

    # What the tray and the window read

    @property
    def status(self) -> ServerStatus:
        return self._status

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs."""
        if self._process is None or self._process.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(self._process.processId()) or None

    @property
    def health(self) -> dict[str, object]:
        """The server's last ``/health`` answer (``ready`` is false while it loads); empty while
        no server answers."""
        return dict(self._health)

    @property
    def is_active(self) -> bool:
        """Whether the server runs, starts, or waits to be restarted (so "Stop" applies)."""
        return self._wanted

    # Commands

    @Slot()
    def start(self) -> None:
        log.info("start requested")
        self._restart_timer.stop()
        self._attempt = 0
        self._wanted = True
        if self._process is None:
            self._launch()
        elif self._kill_timer.isActive():  # still stopping: start again once it has stopped
            self._restart_requested = True
            self.status_changed.emit(self._status)

    @Slot()
    def stop(self) -> None:
        """Ask the server to stop (it finishes open streams first); kill it if it hangs."""
        log.info("stop requested")
        self._wanted = False
        self._restart_requested = False
        self._restart_timer.stop()
        if self._process is None:
            self._set_status(ServerState.STOPPED)
            return
        self._terminate()
        self.status_changed.emit(self._status)  # the same state, but Start/Stop flips

    def restart(self) -> None:
        """Stop the server and start it again with the current settings (a new host or port)."""
        if self._process is None:
            self.start()
            return
        log.info("restart requested")
        self._wanted = True
        self._restart_requested = True
        self._terminate()

    def shutdown(self) -> None:
        """Stop the server and wait for it: the app is quitting and must not leave it running."""
        log.info("shutting down")
        self._wanted = False
        self._restart_requested = False
        self._restart_timer.stop()
        process = self._process
        if process is not None:
            self._terminate()
            if not process.waitForFinished(self._stop_timeout_ms):
                log.warning(
                    "the server did not stop within %g s; killing it", self._stop_timeout_ms / 1000
                )
                process.kill()
                process.waitForFinished(5000)
        self.output.close()

    # The child process

    @Slot()
    def _launch(self) -> None:
        if self._process is not None:
            return
        # The server reads the settings itself, and says what is wrong with them, or with its
        # port, in the one line it prints before it exits (ExitCode.USAGE, PORT_IN_USE).
        command = server_command(self.data_dir)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert(WATCH_PARENT_ENV, "1")
        environment.insert("PYTHONUNBUFFERED", "1")

        process = QProcess(self)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.setProcessEnvironment(environment)
        process.readyReadStandardOutput.connect(
            lambda: self.output.feed("stdout", process.readAllStandardOutput().data())
        )
        process.readyReadStandardError.connect(
            lambda: self.output.feed("stderr", process.readAllStandardError().data())
        )
        process.started.connect(lambda: self._started(process))
        process.finished.connect(
            lambda code, exit_status: self._finished(process, code, exit_status)
        )
        process.errorOccurred.connect(lambda error: self._process_error(process, error))
        self._process = process
        self._failed_checks = 0
        self._running_since = None
        self._launched_at = time.monotonic()
        self._kill_reason = None
        self.output.note(f"starting: {' '.join(command)}")
        log.info("starting the server: %s", " ".join(command))
        self._set_status(ServerState.STARTING)
        process.start()  # its standard input stays open: its end asks the server to stop
        self._health_timer.start(200)
        self._startup_deadline.start(self._startup_timeout_ms)

    def _started(self, process: QProcess) -> None:
        if process is self._process:
            self._child_pid = int(process.processId())
            log.info("the server runs as pid %d", self._child_pid)

    def _terminate(self) -> None:
        assert self._process is not None
        self.output.note("stopping")
        log.info("asking the server (pid %s) to stop: closing its standard input", self._child_pid)
        self._health_timer.stop()  # a stopping server may stop answering: that is no hang
        self._startup_deadline.stop()
        # The end of its stdin is the server's stop request (backend.supervision) on every
        # platform: Windows has no SIGTERM for a console-less child, and elsewhere uvicorn
        # re-raises SIGTERM after its graceful shutdown, so every Stop looked like a crash.
        self._process.closeWriteChannel()
        self._kill_timer.start(self._stop_timeout_ms)

    @Slot()
    def _kill(self) -> None:
        if self._process is not None:
            self.output.note("the server did not stop in time; killing it")
            log.warning(
                "the server (pid %s) did not stop within %g s; killing it",
                self._child_pid,
                self._stop_timeout_ms / 1000,
            )
            self._process.kill()

    def _process_error(self, process: QProcess, error: QProcess.ProcessError) -> None:
        if process is not self._process:
            return
        log.debug("process error %s: %s", error.name, process.errorString())
        if error == QProcess.ProcessError.FailedToStart:
            self._forget_process()
            self._give_up(f"the server could not be started ({process.errorString()})")

    def _finished(self, process: QProcess, code: int, exit_status: QProcess.ExitStatus) -> None:
        if process is not self._process:
            return
        self.output.flush()
        ran_for = time.monotonic() - self._running_since if self._running_since else 0.0
        uptime = time.monotonic() - self._launched_at
        self._forget_process()
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        how = f"ended by signal {code}" if crashed else f"exited with code {code}"
        self.output.note(f"stopped ({'crashed' if crashed else f'exit code {code}'})")
        log.info("the server (pid %s) %s after %.1f s", self._child_pid, how, uptime)
        self._child_pid = None
        if self._restart_requested:
            self._restart_requested = False
            log.info("starting it again, as asked")
            self._launch()
        elif not self._wanted:
            self._set_status(ServerState.STOPPED)
        elif not crashed and code in (ExitCode.USAGE, ExitCode.PORT_IN_USE):
            self._give_up(self._usage_error())
        else:
            if ran_for >= STABLE_AFTER_SECONDS:
                self._attempt = 0
            delay = self._restart_delays[min(self._attempt, len(self._restart_delays) - 1)]
            self._attempt += 1
            log.warning("restarting the server in %g s (attempt %d)", delay, self._attempt)
            why = self._kill_reason or ("crashed" if crashed else f"stopped with exit code {code}")
            self._set_status(ServerState.ERROR, f"the server {why}; restarting in {delay:g} s")
            self._restart_timer.start(int(delay * 1000))

    def _usage_error(self) -> str:
        """The one line ``serve`` printed about what it cannot run with (a setting, its port),
        with the way out."""
        line = self.output.last_line("stderr").removeprefix("chatkit-desk: ")
        return line or "the server refused to start; see the log (Open logs)"

    def _forget_process(self) -> None:
        assert self._process is not None
        # Unparented first: a child QProcess awaiting deleteLater when its parent is destroyed
        # crashes PySide 6.12 at the next event loop turn.
        self._process.setParent(None)
        self._process.deleteLater()
        self._process = None
        self._server_url = None
        self._health_timer.stop()
        self._startup_deadline.stop()
        self._kill_timer.stop()
        self._health = {}
        if self._check_in_flight is not None:
            self._check_in_flight.abort()

    def _give_up(self, reason: str) -> None:
        """An error a restart cannot fix: say so and wait for the user."""
        self._wanted = False
        self.output.note(f"not running: {reason}")
        log.error("giving up, not restarting: %s", reason)
        self._set_status(ServerState.ERROR, reason)

    # Health checks

    @Slot()
    def _check_health(self) -> None:
        if self._check_in_flight is not None or self._child_pid is None:
            return
        if self._server_url is None:
            self._server_url = server_url(self.data_dir, self._child_pid)
            if self._server_url is None:
                return  # not listening yet
        request = QNetworkRequest(QUrl(f"{self._server_url}{HEALTH_PATH}"))
        request.setTransferTimeout(2000)
        reply = self._network.get(request)
        self._check_in_flight = reply
        process = self._process
        reply.finished.connect(lambda: self._health_answered(reply, process))

    def _health_answered(self, reply: QNetworkReply, process: QProcess | None) -> None:
        self._check_in_flight = None
        reply.deleteLater()
        if process is not self._process or process is None:
            log.debug("ignoring a /health answer for a server that has stopped since")
            return
        health = _parse_health(reply)
        if self._status.state is ServerState.STARTING:
            self._starting_answered(health)
        elif health is not None and health.get("ready") is True:
            if self._failed_checks:
                log.info("/health answers again")
            self._failed_checks = 0
            self._health = health
            self._set_status(
                ServerState.RUNNING, self._url(), _describe(health), _tools_in_use(health)
            )
        else:
            self._failed_checks += 1
            log.warning(
                "/health: %s (%d of %d)",
                "not ready" if health is not None else reply.errorString(),
                self._failed_checks,
                self._failed_checks_before_restart,
            )
            if self._failed_checks >= self._failed_checks_before_restart:
                self._kill_because("stopped answering")

    def _starting_answered(self, health: dict[str, object] | None) -> None:
        """A start-up check: nobody listening yet and "not ready yet" are both expected."""
        if health is None:
            return
        if not self._health:
            log.info("the server answers /health; waiting for it to be ready")
        self._health = health
        if health.get("ready") is not True:
            return
        self._startup_deadline.stop()
        self._running_since = time.monotonic()
        self._health_timer.start(self._health_interval_ms)
        log.info("the server is ready after %.1f s", self._running_since - self._launched_at)
        self._set_status(ServerState.RUNNING, self._url(), _describe(health), _tools_in_use(health))

    @Slot()
    def _startup_timed_out(self) -> None:
        seconds = self._startup_timeout_ms / 1000
        if self._health:
            self._kill_because(f"did not become ready within {seconds:g} s")
        else:
            self._kill_because(f"did not answer within {seconds:g} s")

    def _kill_because(self, reason: str) -> None:
        """Kill a server that hangs or will not start; it is then restarted as after a crash."""
        assert self._process is not None
        self._kill_reason = reason
        self.output.note(f"the server {reason}; killing it")
        log.error("the server (pid %s) %s; killing it", self._child_pid, reason)
        self._process.kill()

    def _url(self) -> str:
        assert self._server_url is not None
        return self._server_url

    def _set_status(
        self,
        state: ServerState,
        detail: str = "",
        note: str = "",
        tools_in_use: tuple[str, ...] = (),
    ) -> None:
        status = ServerStatus(state, detail, note, tools_in_use)
        if status != self._status:
            log.debug("status: %s", status.summary)
            self._status = status
            self.status_changed.emit(status)


def _parse_health(reply: QNetworkReply) -> dict[str, object] | None:
    if reply.error() != QNetworkReply.NetworkError.NoError:
        return None
    return read_health(reply.readAll().data())


def _describe(health: dict[str, object]) -> str:
    provider = str(health.get("provider", ""))
    label = PROVIDER_LABELS.get(provider, provider)  # type: ignore[call-overload]
    if not health.get("key_configured"):
        return f"No {label} API key is set — add one in Settings"
    return f"{label}, model {health.get('model', '?')}"


def _tools_in_use(health: dict[str, object]) -> tuple[str, ...]:
    """The tools a turn is calling; an older server's answer has none."""
    names = health.get("tools_in_use")
    if not isinstance(names, list):
        return ()
    return tuple(str(name) for name in names)
