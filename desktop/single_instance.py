"""One tray per data dir: a lock file says who runs, a local socket lets a second launch say hi.

``QLockFile`` notices a lock left by a crashed process (its PID is gone) and takes it over; a
lock held by a live process is never considered stale, however old. The local server's name is
derived from the user and the data dir, so two users, or one user with two data dirs, never meet.

The wire format is one line each way, ``show 1`` and ``ok 1``: a word and the protocol version
(as in qutebrowser's IPC), so a later tray that changes the format can tell an earlier one.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path

from PySide6.QtCore import QCryptographicHash, QLockFile, QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop.tray_log import instance as log

PROTOCOL_VERSION = 1
"""0 is the unversioned ``show`` of the trays before it, which is still answered."""
SHOW = "show"
ACKNOWLEDGED = "ok"


def message(word: str) -> bytes:
    return f"{word} {PROTOCOL_VERSION}\n".encode()


def parse(line: bytes) -> tuple[str, int] | None:
    """A line's word and protocol version; ``None`` for anything else."""
    match line.decode("ascii", errors="replace").split():
        case [word]:
            return word, 0
        case [word, version] if version.isdigit():
            return word, int(version)
    return None


def server_name(data_dir: Path) -> str:
    # Qt's SHA-256, the same digest as hashlib's, without loading OpenSSL (~4 MB) into the tray.
    identity = f"{getpass.getuser()}\0{data_dir.resolve()}".encode()
    digest = bytes(QCryptographicHash.hash(identity, QCryptographicHash.Algorithm.Sha256).toHex())
    return f"chatkit-desk-{digest[:16].decode()}"


class SingleInstance(QObject):
    """``acquire()`` in the first instance; ``ask_first_to_show()`` in any later one."""

    show_requested = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.name = server_name(data_dir)
        self._lock = QLockFile(str(data_dir / "tray.lock"))
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """Become the instance for this data dir, or ``False`` when another one is."""
        if not self._lock.tryLock(0):
            return False
        QLocalServer.removeServer(self.name)  # a socket file left by a crashed instance
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self._server.listen(self.name):
            raise RuntimeError(f"cannot listen on {self.name}: {self._server.errorString()}")
        self._server.newConnection.connect(self._accept)
        return True

    def holder_pid(self) -> int | None:
        locked, pid, _host, _app = self._lock.getLockInfo()
        return int(pid) if locked else None

    def ask_first_to_show(self, timeout_seconds: float = 10.0) -> bool:
        """Ask the running instance to bring its settings window forward; ``True`` once it has.

        Retries for a while: the first instance may hold the lock but not be listening yet.
        """
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            socket = QLocalSocket()
            socket.connectToServer(self.name)
            if socket.waitForConnected(1000):
                socket.write(message(SHOW))
                socket.waitForBytesWritten(1000)
                answered = socket.waitForReadyRead(3000) and _says(socket, ACKNOWLEDGED)
                socket.disconnectFromServer()
                if answered:
                    return True
            time.sleep(0.2)
        return False

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.unlock()

    @Slot()
    def _accept(self) -> None:
        assert self._server is not None
        while (connection := self._server.nextPendingConnection()) is not None:
            connection.readyRead.connect(lambda c=connection: self._read(c))
            connection.disconnected.connect(lambda c=connection: _dispose(c))

    def _read(self, connection: QLocalSocket) -> None:
        if not connection.canReadLine():
            return
        line = connection.readLine().data()
        request = parse(line)
        if request is None or request[0] != SHOW:
            log.warning("a second launch sent what this tray does not know: %r", line[:80])
            return
        log.info("a second launch (protocol %d) asks for the settings window", request[1])
        connection.write(message(ACKNOWLEDGED))
        connection.flush()
        self.show_requested.emit()


def _dispose(connection: QLocalSocket) -> None:
    # Unparented first: a child awaiting deleteLater when its parent is destroyed crashes
    # PySide 6.12 at the next event loop turn (a test released the instance just then).
    connection.setParent(None)
    connection.deleteLater()


def _says(socket: QLocalSocket, word: str) -> bool:
    answer = parse(socket.readLine().data()) if socket.canReadLine() else None
    return answer is not None and answer[0] == word
