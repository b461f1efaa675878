"""Keyring calls on a thread of their own, each answer delivered back on the GUI thread.

A keyring call takes as long as the user does when the keyring is locked: its unlock prompt
blocks the call until it is answered. On the GUI thread that would freeze the tray and the
settings window; so would, briefly, every read from the Secret Service over D-Bus. Here calls
run one at a time, in the order they were asked (a locked keyring then prompts once, not once
per call, and a read asked after a write sees it), and a signal carries each result to the GUI
thread.

A daemon thread rather than a ``QThreadPool``: the pool waits for its threads when it is
destroyed, so a prompt nobody answers would keep the app from quitting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot

from backend.secrets import KeyringUnavailable
from desktop.tray_log import keyring as log

T = TypeVar("T")


def ask(call: Callable[[], T], answer: Callable[[T | KeyringUnavailable], None]) -> None:
    """Run ``call`` on the keyring thread, then ``answer(result)`` on the GUI thread.

    ``call`` raising ``KeyringUnavailable`` answers with that exception; raising anything else
    (a keyring backend failing in a way ``backend.secrets`` does not expect) is logged and
    answers with a ``KeyringUnavailable`` that names it. When ``answer`` is a method of a
    QObject deleted in the meantime, nobody is answered. Call this from the GUI thread.
    """
    global _thread
    if _thread is None:
        _thread = _KeyringThread()
    _thread.calls.put((call, answer))


class _Deliveries(QObject):
    """Lives on the GUI thread, so the keyring thread's signal is delivered there."""

    answered = Signal(object, object)  # the answer, and the result it gets

    def __init__(self) -> None:
        super().__init__()
        self.answered.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, answer: Callable[[Any], None], result: object) -> None:
        owner = getattr(answer, "__self__", None)
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            log.debug("dropping the answer to %s: it is gone", _name(answer))
            return
        answer(result)


class _KeyringThread:
    def __init__(self) -> None:
        self.calls: queue.SimpleQueue[tuple[Callable[[], Any], Callable[[Any], None]]] = (
            queue.SimpleQueue()
        )
        self._deliveries = _Deliveries()
        threading.Thread(target=self._run, name="keyring", daemon=True).start()

    def _run(self) -> None:
        while True:
            call, answer = self.calls.get()
            log.debug("calling %s", _name(call))
            try:
                result = call()
            except KeyringUnavailable as exc:
                result = exc
            except Exception as exc:
                log.exception("%s failed", _name(call))
                result = KeyringUnavailable(f"the keyring failed ({type(exc).__name__})")
            log.debug("%s returned", _name(call))
            self._deliveries.answered.emit(answer, result)


def _name(function: Callable[..., Any]) -> str:
    """For the log: the function's name, never its arguments (a key may be one)."""
    inner = getattr(function, "func", function)  # a functools.partial
    return str(getattr(inner, "__qualname__", type(inner).__name__))


_thread: _KeyringThread | None = None
