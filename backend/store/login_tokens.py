"""Remembers which one-time sign-in tokens were used, so a link works once, even across restarts
(and, in team mode, across replicas: ``backend.store.postgres.shared``)."""

from __future__ import annotations

import sqlite3
import time
from typing import Protocol


class LoginClaims(Protocol):
    async def claim(self, token_id: str, expires_at: int) -> bool:
        """``True`` the first time ``token_id`` is presented, ``False`` ever after."""


class UsedLoginTokens(LoginClaims):
    """On the desktop database's ``used_login_tokens`` table (``backend.store.migrations``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def claim(self, token_id: str, expires_at: int) -> bool:
        self._db.execute("DELETE FROM used_login_tokens WHERE expires_at < ?", (int(time.time()),))
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO used_login_tokens (token_id, expires_at) VALUES (?, ?)",
            (token_id, expires_at),
        )
        return cursor.rowcount == 1
