"""The server child's stdout and stderr, line by line, in a rotating log file in the data dir."""

from __future__ import annotations

import logging
import logging.handlers
from collections import deque
from pathlib import Path

MAX_BYTES = 1_000_000
BACKUP_COUNT = 3


class ServerOutputLog:
    """Writes whole lines to ``path`` (rotated at 1 MB, 3 old files kept), remembers the last few.

    A dedicated logger that does not propagate, so the tray's own logging never mixes in.
    """

    def __init__(self, path: Path, remembered_lines: int = 20) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self._logger = logging.Logger(f"chatkit_desk.server_output.{path}", logging.INFO)
        self._logger.propagate = False
        self._logger.addHandler(self._handler)
        self._partial: dict[str, str] = {}
        self.recent: dict[str, deque[str]] = {}
        self._remembered_lines = remembered_lines

    def feed(self, stream: str, data: bytes) -> None:
        """Log the complete lines in ``data``; keep an unfinished last line for the next call."""
        text = self._partial.pop(stream, "") + data.decode("utf-8", errors="replace")
        *lines, rest = text.split("\n")
        if rest:
            self._partial[stream] = rest
        for line in lines:
            self._write(stream, line.rstrip("\r"))

    def flush(self) -> None:
        """Write out unfinished lines (the process has ended)."""
        for stream, rest in list(self._partial.items()):
            self._write(stream, rest)
        self._partial.clear()

    def note(self, message: str) -> None:
        """A line from the tray itself: started, stopped, crashed."""
        self._logger.info("[tray] %s", message)

    def last_line(self, stream: str) -> str:
        lines = self.recent.get(stream)
        return lines[-1] if lines else ""

    def close(self) -> None:
        self.flush()
        self._logger.removeHandler(self._handler)
        self._handler.close()

    def _write(self, stream: str, line: str) -> None:
        if not line.strip():
            return
        self.recent.setdefault(stream, deque(maxlen=self._remembered_lines)).append(line)
        self._logger.info("[%s] %s", stream, line)
