"""The contract between the tray and the server it supervises (no server imports here).

The tray starts ``chatkit-desk serve`` with ``CHATKIT_DESK_WATCH_PARENT=1``; the server then
stops by itself when the tray is gone, even if the tray was killed and could not stop it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

WATCH_PARENT_ENV = "CHATKIT_DESK_WATCH_PARENT"
PR_SET_PDEATHSIG = 1


def stop_when_parent_exits(poll_seconds: float = 1.0) -> None:
    """For a supervised child: stop (as on Ctrl+C) when the process that started us is gone.

    The tray sets ``CHATKIT_DESK_WATCH_PARENT=1``, so the server never outlives it, even when
    the tray is killed and cannot stop it. On Linux the kernel delivers SIGTERM the moment the
    parent dies (``PR_SET_PDEATHSIG``); elsewhere, and as a fallback, a thread polls. The signal
    goes first: with the parent gone, writing a log line to its pipe may fail.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
