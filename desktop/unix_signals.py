"""SIGTERM, SIGINT and SIGHUP end the app cleanly (the server is stopped first).

Python runs signal handlers only between bytecodes, and a Qt event loop can wait in C for a
long time. ``signal.set_wakeup_fd`` writes each signal's number to a socket pair that a
``QSocketNotifier`` watches, so the event loop wakes up and the callback runs at once. Windows
has no such fd for console signals: a timer gives Python a moment every half second instead.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Slot

HANDLED = ("SIGTERM", "SIGINT", "SIGHUP")


class SignalWatcher(QObject):
    def __init__(self, on_signal: Callable[[int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_signal = on_signal
        numbers = [getattr(signal, name) for name in HANDLED if hasattr(signal, name)]
        if sys.platform == "win32":
            for number in numbers:
                signal.signal(number, lambda number, _frame: self._on_signal(number))
            self._tick = QTimer(self)
            self._tick.timeout.connect(lambda: None)
            self._tick.start(500)
            return
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        signal.set_wakeup_fd(self._writer.fileno())
        for number in numbers:
            signal.signal(number, lambda _number, _frame: None)  # the wakeup fd reports it
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    @Slot()
    def _drain(self) -> None:
        try:
            received = self._reader.recv(64)
        except BlockingIOError:
            return
        for number in received:
            self._on_signal(number)
