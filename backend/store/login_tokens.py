"""Remembers which one-time sign-in tokens were used, so a link works once, even across restarts."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


class UsedLoginTokens:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS used_login_tokens "
            "(token_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)"
        )

    def claim(self, token_id: str, expires_at: int) -> bool:
        """``True`` the first time ``token_id`` is presented, ``False`` ever after."""
        self._db.execute("DELETE FROM used_login_tokens WHERE expires_at < ?", (int(time.time()),))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO used_login_tokens (token_id, expires_at) VALUES (?, ?)",
            (token_id, expires_at),
        )
        return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()
