"""The tray's own log: each step it takes with the server, and why, in ``logs/tray.log``.

Named loggers, as qutebrowser has ``log.procs``: ``server`` for the supervised child, ``keyring``
for the keyring calls run off the GUI thread, ``instance`` for the single-instance guard. Plain
``logging``, not the server's structlog, which the idle tray would carry for nothing. Nothing
secret is ever logged here: no key, no token, no sign-in link, no environment.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from collections.abc import Iterator
from pathlib import Path

FILE_NAME = "tray.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

tray = logging.getLogger("chatkit_desk.tray")
server = logging.getLogger("chatkit_desk.tray.server")
keyring = logging.getLogger("chatkit_desk.tray.keyring")
instance = logging.getLogger("chatkit_desk.tray.instance")


@contextlib.contextmanager
def written_to(log_dir: Path) -> Iterator[Path]:
    """Meanwhile, the tray's log goes to ``log_dir/tray.log`` (debug and up, rotated at 1 MB,
    3 old files kept) and to stderr (info and up), and nowhere else; yields the file's path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / FILE_NAME
    to_file = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setLevel(logging.INFO)
    for handler in (to_file, to_stderr):
        handler.setFormatter(logging.Formatter(FORMAT))
        tray.addHandler(handler)
    level, propagate = tray.level, tray.propagate
    tray.setLevel(logging.DEBUG)
    tray.propagate = False  # the entry point's stderr handler would print each line twice
    try:
        yield path
    finally:
        tray.setLevel(level)
        tray.propagate = propagate
        for handler in (to_file, to_stderr):
            tray.removeHandler(handler)
            handler.close()
