"""Remembers which one-time sign-in tokens were used, so a link works once, even across restarts."""

from __future__ import annotations

import sqlite3
import time


class UsedLoginTokens:
    """On the database's ``used_login_tokens`` table (``backend.store.migrations``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def claim(self, token_id: str, expires_at: int) -> bool:
        """``True`` the first time ``token_id`` is presented, ``False`` ever after."""
        self._db.execute("DELETE FROM used_login_tokens WHERE expires_at < ?", (int(time.time()),))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO used_login_tokens (token_id, expires_at) VALUES (?, ?)",
            (token_id, expires_at),
        )
        return cursor.rowcount == 1
